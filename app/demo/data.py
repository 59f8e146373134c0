"""Static demo data (reference/domain.md §5). Every name, credit code and number is fictional.

Dates are offsets in days relative to "demo today" (T) so the warnings show whenever the loader
runs. Money in 万元. Used only by :mod:`app.services.demo`.
"""

from __future__ import annotations

DEMO_PASSWORD = "Puer-demo-2026"

# (code, full name, short name, seat, pinyin key used for org units / usernames)
REGIONS: list[tuple[str, str, str, str, str]] = [
    ("530802", "思茅区", "思茅", "思茅街道", "simao"),
    ("530821", "宁洱哈尼族彝族自治县", "宁洱", "宁洱镇", "ninger"),
    ("530822", "墨江哈尼族自治县", "墨江", "联珠镇", "mojiang"),
    ("530823", "景东彝族自治县", "景东", "锦屏镇", "jingdong"),
    ("530824", "景谷傣族彝族自治县", "景谷", "威远镇", "jinggu"),
    ("530825", "镇沅彝族哈尼族拉祜族自治县", "镇沅", "恩乐镇", "zhenyuan"),
    ("530826", "江城哈尼族彝族自治县", "江城", "勐烈镇", "jiangcheng"),
    ("530827", "孟连傣族拉祜族佤族自治县", "孟连", "娜允镇", "menglian"),
    ("530828", "澜沧拉祜族自治县", "澜沧", "勐朗镇", "lancang"),
    ("530829", "西盟佤族自治县", "西盟", "勐梭镇", "ximeng"),
]
REGION_KEY = {code: key for code, _n, _s, _seat, key in REGIONS}
REGION_SHORT = {code: short for code, _n, short, _seat, _k in REGIONS}

# (code, name, region, level, leading industries)
PARKS: list[tuple[str, str, str, str, list[str]]] = [
    ("PK01", "普洱工业园区(思茅片区)", "530802", "省级", ["咖啡精深加工", "生物医药", "边贸加工"]),
    ("PK02", "景谷林产业园区", "530824", "省级", ["林浆纸", "林板家居", "林化"]),
    ("PK03", "孟连边境经济合作区", "530827", "省级", ["咖啡初加工", "口岸物流", "边贸加工"]),
    ("PK04", "宁洱产业园区", "530821", "市级", ["普洱茶精制", "绿色食品"]),
    ("PK05", "澜沧产业园区", "530828", "市级", ["农产品加工", "冷链"]),
]

# (code, name, lead org unit key, 链长 placeholder, links)
CHAINS: list[tuple[str, str, str, str, list[str]]] = [
    ("C01", "茶产业链(普洱茶)", "tea_coffee_center", "副市长A", ["有机茶园基地", "初制所", "精制加工", "品牌与电商", "茶文旅"]),
    ("C02", "咖啡产业链", "tea_coffee_center", "副市长A", ["种苗与种植", "鲜果集中处理", "烘焙", "精深加工", "交易平台与品牌"]),
    ("C03", "林产产业链", "forestry", "副市长B", ["原料林基地", "林浆纸", "林板家居", "林化", "森林康养"]),
    ("C04", "生物医药产业链", "miit", "副市长C", ["中药材种植", "饮片/提取物", "中成药/民族药", "保健食品", "医药流通"]),
    ("C05", "绿色能源产业链", "ndrc", "副市长D", ["水/光/风开发", "储能", "绿电+先进制造", "运维服务"]),
    ("C06", "文旅康养产业链", "culture_tourism", "副市长E", ["景区", "森林康养基地", "旅居/酒店", "茶咖文旅线路", "民族文化演艺"]),
    ("C07", "高原特色现代农业产业链", "agriculture", "副市长F", ["种养基地", "冷链初加工", "精深加工", "品牌营销"]),
    ("C08", "现代物流与口岸经济产业链", "commerce", "副市长G", ["口岸通关", "边贸加工", "冷链/仓储", "铁路物流"]),
]

# City-level org units (region_code NULL): (key, name, type)
CITY_ORGS: list[tuple[str, str, str]] = [
    ("city_gov", "普洱市人民政府", "government"),
    ("leading_group", "市招商引资工作领导小组", "committee"),
    ("committee", "市招商委", "committee"),
    ("zsw_office", "市招商委办公室(市投资促进局)", "office"),
    ("city_ipb", "市投资促进局重大项目科", "office"),
    ("factor_group", "市重点项目要素保障领导小组办公室", "group"),
    ("ndrc", "市发展改革委(市能源局)", "department"),
    ("eco", "市生态环境局", "department"),
    ("nrp", "市自然资源和规划局", "department"),
    ("housing", "市住房城乡建设局", "department"),
    ("miit", "市工业和信息化局", "department"),
    ("forestry", "市林业和草原局", "department"),
    ("agriculture", "市农业农村局", "department"),
    ("commerce", "市商务局", "department"),
    ("culture_tourism", "市文化和旅游局", "department"),
    ("tea_coffee_center", "市茶叶和咖啡产业发展中心", "department"),
    ("water", "市水务局", "department"),
    ("gov_service", "市政务服务管理局", "department"),
    ("market_reg", "市市场监管局", "department"),
    ("finance", "市财政局", "department"),
    ("justice", "市司法局(法律顾问组)", "department"),
    ("inspection_office", "市政府督查室", "office"),
    ("power_supply", "普洱供电局", "utility"),
    ("expert_pool", "市招商引资专家库", "external"),
    ("investors", "投资方联系人", "external"),
    ("rep_network", "驻外招商代表", "external"),
]

# City users: (username, display name, roles, org key)
CITY_USERS: list[tuple[str, str, list[str], str | None]] = [
    ("admin", "系统管理员", ["admin"], None),
    ("leader1", "赵立新", ["leading_group_head", "leader"], "leading_group"),
    ("director1", "李明远", ["committee_director", "leader"], "committee"),
    ("deputy1", "副市长A", ["committee_deputy", "chain_chief", "leader"], "committee"),
    ("deputy2", "周文涛", ["committee_deputy"], "committee"),
    ("secgen1", "何静", ["deputy_secgen"], "committee"),
    ("secgen2", "杨帆", ["deputy_secgen"], "committee"),
    ("office1", "陈海波", ["zsw_office"], "zsw_office"),
    ("office2", "刘洋", ["zsw_office"], "zsw_office"),
    ("cityipb1", "孙磊", ["city_ipb"], "city_ipb"),
    ("factor1", "马俊", ["factor_group"], "factor_group"),
    ("ndrc1", "发改委经办人", ["ndrc", "factor_dept", "industry_dept"], "ndrc"),
    ("eco1", "生态环境局经办人", ["eco", "factor_dept"], "eco"),
    ("nrp1", "自然资源局经办人", ["nrp", "factor_dept"], "nrp"),
    ("housing1", "住建局经办人", ["housing", "factor_dept"], "housing"),
    ("power1", "供电局经办人", ["factor_dept"], "power_supply"),
    ("industry1", "工信局经办人", ["industry_dept"], "miit"),
    ("industry2", "商务局经办人", ["industry_dept", "chain_group"], "commerce"),
    ("chain1", "茶咖中心经办人", ["chain_group", "industry_dept"], "tea_coffee_center"),
    ("chain2", "林草局经办人", ["chain_group", "industry_dept"], "forestry"),
    ("supervisor1", "项目主管(重大项目)", ["project_supervisor"], "city_ipb"),
    ("legal1", "法律顾问", ["legal"], "justice"),
    ("inspector1", "督查员", ["inspector"], "inspection_office"),
    ("expert1", "茶产业专家", ["expert"], "expert_pool"),
    ("expert2", "财务专家", ["expert"], "expert_pool"),
    ("investor1", "投资方联系人(云岭茗源)", ["investor"], "investors"),
    ("rep1", "上海普洱商会招商代表", ["investment_rep"], "rep_network"),
    ("prometheus", "监控采集(Prometheus)", ["metrics"], None),  # reads /metrics only
]

# County users: (suffix, display suffix, roles, org suffix); username = <pinyin>_<suffix>
COUNTY_USERS: list[tuple[str, str, list[str], str]] = [
    ("gov", "县(区)政府分管领导", ["county_gov", "leader"], "gov"),
    ("ipb", "投资促进局局长", ["county_ipb"], "ipb"),
    ("unit", "责任单位经办人", ["responsible_unit"], "ipb"),
    ("sc", "服务专员", ["service_commissioner"], "ipb"),
]

# (key, name, HQ, nature, rank tags, chain, industry)
ENTERPRISES: list[tuple[str, str, str, str, list[str], str | None, str]] = [
    ("E01", "云岭茗源茶业集团有限公司", "云南昆明", "民营", ["行业龙头"], "C01", "茶叶加工"),
    ("E02", "沪上醇豆咖啡食品股份有限公司", "上海", "民营", ["上市公司"], "C02", "咖啡加工"),
    ("E03", "华南森能纸业集团有限公司", "广东", "民营", ["中国制造业企业500强", "行业龙头"], "C03", "造纸"),
    ("E04", "江浙本草生物科技有限公司", "浙江", "民营", ["专精特新小巨人", "高新技术企业"], "C04", "中药饮片"),
    ("E05", "中能绿电(云南)新能源有限公司", "云南昆明", "国有", ["世界500强"], "C05", "新能源发电"),
    ("E06", "蓝岭果业科技有限公司", "四川成都", "民营", [], "C07", "水果种植"),
    ("E07", "澜湄冷链物流有限公司", "云南昆明", "民营", [], "C08", "冷链物流"),
    ("E08", "川渝康旅投资集团有限公司", "重庆", "民营", [], "C06", "旅游康养"),
    ("E09", "闽茶鲜饮供应链有限公司", "福建厦门", "民营", ["链主企业"], "C01", "茶饮原料"),
    ("E10", "北方铝硅材料有限公司", "内蒙古", "民营", [], None, "工业硅"),
    ("E11", "鑫汇城投置业有限公司", "贵州", "民营", [], None, "房地产"),
    ("E12", "粤港智造家居有限公司", "广东佛山", "港澳台投资企业", [], "C03", "家具制造"),
    ("E13", "孟连咖啡农民专业合作社联合社", "云南普洱", "集体", [], "C02", "咖啡初加工"),
    ("E14", "墨江数字花卉科技有限公司", "云南普洱", "民营", [], "C07", "花卉种植"),
    ("E15", "江城边贸商品加工有限公司", "云南普洱", "民营", [], "C08", "边贸加工"),
    ("E16", "千家寨古茶资源开发有限公司", "云南普洱", "民营", [], "C01", "茶叶种植"),
]

# Projects. stage: S1..S7 / DONE; status active/sealed/terminated; entered: days since the
# current stage began; signed: days since signing (None = unsigned).
PROJECTS: list[dict] = [
    dict(key="P-01", name="景迈山茶旅融合示范项目", region="530828", park=None, chain="C06", action="延链",
         inv=80000, ent="E08", tier="重点", stage="S3_VISIT", entered=40, light="green"),
    dict(key="P-02", name="年产2万吨普洱茶精深加工及茶饮原料基地", region="530821", park="PK04", chain="C01",
         action="延链", inv=150000, ent="E01", tier="重大", stage="S6_LAND", entered=200, signed=200, light="yellow"),
    dict(key="P-03", name="咖啡冻干粉及浓缩液精深加工项目", region="530802", park="PK01", chain="C02", action="延链",
         inv=60000, ent="E02", tier="重点", stage="DONE", entered=20, signed=160, started=20, light="green"),
    dict(key="P-04", name="孟连精品咖啡鲜果集中处理中心", region="530827", park="PK03", chain="C02", action="补链",
         inv=8000, ent="E13", tier="一般", stage="S5_SIGN", entered=10, light="green"),
    dict(key="P-05", name="林浆纸一体化技改扩能项目", region="530824", park="PK02", chain="C03", action="强链",
         inv=120000, ent="E03", tier="重大", stage="S4_NEGOTIATE", entered=25, light="green"),
    dict(key="P-06", name="林板家居产业园项目", region="530824", park="PK02", chain="C03", action="延链",
         inv=45000, ent="E12", tier="重点", stage="S6_LAND", entered=200, signed=200, light="red"),
    dict(key="P-07", name="石斛/白及饮片及提取物生产线", region="530802", park="PK01", chain="C04", action="延链",
         inv=30000, ent="E04", tier="重点", stage="S4_NEGOTIATE", entered=30, light="green",
         prereview="有条件通过"),
    dict(key="P-08", name="高原蓝莓数字农业产业园二期", region="530828", park="PK05", chain="C07", action="强链",
         inv=20000, ent="E06", tier="重点", stage="DONE", entered=60, signed=240, started=60, light="green"),
    dict(key="P-09", name="光伏+储能综合示范项目", region="530822", park=None, chain="C05", action="建链",
         inv=200000, ent="E05", tier="重大", stage="S6_LAND", entered=5, signed=5, light="green", major=True),
    dict(key="P-10", name="工业硅冶炼项目", region="530825", park=None, chain=None, action=None,
         inv=250000, ent="E10", tier="重大", stage="S4_NEGOTIATE", entered=90, light="green", status="terminated",
         prereview="否决", industrial=True),
    dict(key="P-11", name="“康养小镇”综合开发项目", region="530826", park=None, chain="C06", action=None,
         inv=300000, ent="E11", tier="重大", stage="S4_NEGOTIATE", entered=80, light="green", status="terminated",
         prereview="否决", industrial=False),
    dict(key="P-12", name="边境冷链物流园", region="530827", park="PK03", chain="C08", action="建链",
         inv=35000, ent="E07", tier="重点", stage="S2_SCREEN", entered=50, light="blue"),
    dict(key="P-13", name="佤族文化旅游演艺项目", region="530829", park=None, chain="C06", action="建链",
         inv=6000, ent=None, tier="一般", stage="S1_PLAN", entered=400, light="red", industrial=False),
    dict(key="P-14", name="哀牢山森林康养基地", region="530823", park=None, chain="C06", action="延链",
         inv=25000, ent="E08", tier="重点", stage="S3_VISIT", entered=150, light="green", status="sealed",
         industrial=False),
    dict(key="P-15", name="数字花卉种植基地", region="530822", park=None, chain="C07", action="建链",
         inv=26000, ent="E14", tier="重点", stage="S6_LAND", entered=150, signed=150, light="red"),
    dict(key="P-16", name="边贸商品加工项目", region="530802", park="PK01", chain="C08", action="延链",
         inv=12000, ent="E15", tier="重点", stage="S6_LAND", entered=40, signed=120, light="green"),
    dict(key="P-17", name="速溶茶粉及茶饮原料项目", region="530821", park="PK04", chain="C01", action="延链",
         inv=40000, ent="E09", tier="重点", stage="S3_VISIT", entered=15, light="green"),
    dict(key="P-18", name="古茶树资源保护性开发项目", region="530825", park=None, chain="C01", action="强链",
         inv=6000, ent="E16", tier="一般", stage="S2_SCREEN", entered=20, light="green"),
]

# Monthly funds arrivals of started/landed projects: project key → (months back, amount 万元, origin)
FUNDS: dict[str, list[tuple[int, float, str]]] = {
    "P-03": [(5, 6000.0, "省外"), (4, 8000.0, "省外"), (3, 9000.0, "省外"), (2, 7000.0, "省外"), (1, 5000.0, "市内")],
    "P-08": [(6, 2000.0, "省外"), (5, 2500.0, "省外"), (4, 1800.0, "省外"), (3, 2200.0, "省外"), (2, 1500.0, "省外"),
             (1, 1200.0, "市外省内")],
    "P-02": [(4, 12000.0, "市外省内"), (2, 8000.0, "市外省内")],
    "P-06": [(5, 3000.0, "省外")],
    "P-16": [(3, 1500.0, "省外"), (1, 1000.0, "省外")],
    "P-09": [(0, 20000.0, "省外")],
}

# Visits: (days ago, enterprise key or None, name if not in enterprises, interests, region, routing, routed to,
#          chain, project key)
VISITS: list[tuple] = [
    (25, "E09", None, ["茶饮原料"], "530821", "链长", "市茶叶和咖啡产业发展中心", "C01", "P-17"),
    (55, "E07", None, ["冷链物流"], "530827", "链长", "市商务局", "C08", "P-12"),
    (12, None, "滇南数智科技有限公司", ["数字经济"], "530802", "交办", "市工业和信息化局", None, None),
    (6, None, "澜沧绿源农业开发有限公司", ["审批咨询"], "530828", "转办", "市政务服务管理局", None, None),
    (3, None, "景谷宏林木业有限公司", ["用地纠纷"], "530824", "投诉", "市招商委办公室", None, None),
]

# Complaints: (complainant, project key, category, region, content, handler, days ago, status)
COMPLAINTS: list[tuple] = [
    ("粤港智造家居有限公司", "P-06", "用地", "530824", "项目用地报批手续迟迟未办结,影响开工。", "市自然资源和规划局", 20,
     "handling"),
    ("沪上醇豆咖啡食品股份有限公司", "P-03", "要素保障", "530802", "承诺的供电增容未按期完成。", "普洱供电局", 45, "closed"),
    ("匿名", None, "违规招商", "530826", "反映某县以违规优惠政策“内卷式”招商。", "市发展改革委(市能源局)", 8, "received"),
]
