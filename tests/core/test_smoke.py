def test_start_and_complete_runs_to_next_task(factory):
    factory.deploy_onboarding()
    info = factory.start()
    assert info["status"] == "running"
    tasks = factory.open_tasks(info["id"])
    assert list(tasks) == ["ut1"]
    after = factory.complete(tasks["ut1"], {"project_name": "普洱咖啡", "amount_wan": 1500})
    assert [t["element_id"] for t in after["tasks"]] == ["ut2"]


def test_timer_fixture_processes_deploy(factory):
    versions = factory.deploy("timers.bpmn")
    assert sorted(v["process_key"] for v in versions) == ["monthly", "release", "reminders", "visit_start", "waiter"]
