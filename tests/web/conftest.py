import pytest


@pytest.fixture
def people(factory):
    """An office user, a 思茅 county user and a leader (plus the factory's admin)."""
    factory.org("office", "市招商委办公室")
    factory.org("simao_ipb", "思茅区投资促进局", region_code="530802")
    factory.user("office", "zsw_office", org="office")
    factory.user("county", "county_ipb", org="simao_ipb")
    factory.user("leader", "leader")
    return ["admin", "office", "county", "leader"]
