"""Names, departments and handlers for the Changsha pack: data tables only, no logic."""

from __future__ import annotations

from dataclasses import dataclass

SUFFIX_EN = {
    "区": "District",
    "县": "County",
    "市": "City",
    "街道": "Subdistrict",
    "镇": "Town",
    "乡": "Township",
}


@dataclass(frozen=True)
class DeptSpec:
    suffix: str  # unit code suffix after the district code
    department_type: str
    name_zh: str  # "{d}" = district name; "{s}" = district name without its suffix
    name_en: str  # "{d}" = district English name
    branch_zh: str = ""  # for districts (区): a branch of the city bureau, e.g. 长沙市公安局{s}分局


DEPARTMENTS = [
    DeptSpec(
        "HRSS",
        "human_resources",
        "{d}人力资源和社会保障局",
        "{d} Human Resources and Social Security Bureau",
    ),
    DeptSpec(
        "HOUSING",
        "housing",
        "{d}住房和城乡建设局",
        "{d} Housing and Urban-Rural Development Bureau",
    ),
    DeptSpec("EDU", "education", "{d}教育局", "{d} Education Bureau"),
    DeptSpec("HEALTH", "health", "{d}卫生健康局", "{d} Health Commission"),
    DeptSpec("TRANSPORT", "transport", "{d}交通运输局", "{d} Transport Bureau"),
    DeptSpec(
        "MARKET", "market_supervision", "{d}市场监督管理局", "{d} Market Supervision Administration"
    ),
    DeptSpec(
        "CULTURE", "culture_tourism", "{d}文化旅游体育局", "{d} Culture, Tourism and Sports Bureau"
    ),
    DeptSpec(
        "ENV",
        "environment",
        "{d}生态环境局",
        "{d} Ecology and Environment Bureau",
        "长沙市生态环境局{s}分局",
    ),
    DeptSpec(
        "NATURAL",
        "natural_resources",
        "{d}自然资源局",
        "{d} Natural Resources Bureau",
        "长沙市自然资源和规划局{s}分局",
    ),
    DeptSpec(
        "POLICE",
        "public_security",
        "{d}公安局",
        "{d} Public Security Bureau",
        "长沙市公安局{s}分局",
    ),
    DeptSpec("CIVIL", "civil_affairs", "{d}民政局", "{d} Civil Affairs Bureau"),
    DeptSpec(
        "URBAN",
        "urban_management",
        "{d}城市管理和综合执法局",
        "{d} Urban Management and Law Enforcement Bureau",
    ),
    DeptSpec("AGRI", "agriculture", "{d}农业农村局", "{d} Agriculture and Rural Affairs Bureau"),
    DeptSpec("WATER", "water", "{d}水利局", "{d} Water Resources Bureau"),
    DeptSpec("EMERGENCY", "emergency", "{d}应急管理局", "{d} Emergency Management Bureau"),
    # Departments of type "other": responsibilities name them one by one.
    DeptSpec("DRC", "other", "{d}发展和改革局", "{d} Development and Reform Bureau"),
    DeptSpec(
        "STI", "other", "{d}科技和工业信息化局", "{d} Science, Technology and Industry Bureau"
    ),
    DeptSpec(
        "DISCIPLINE",
        "other",
        "{d}纪委监委",
        "{d} Commission for Discipline Inspection and Supervision",
    ),
    DeptSpec("JUSTICE", "other", "{d}司法局", "{d} Justice Bureau"),
]
BY_SUFFIX = {d.suffix: d for d in DEPARTMENTS}
BY_TYPE = {d.department_type: d for d in DEPARTMENTS if d.department_type != "other"}
GOV = "GOV"  # the district government itself (department type district_office)

# Who handles a level-1 class at district level: a department type, or a unit suffix.
LEVEL1: dict[str, tuple[str, str]] = {
    # level1: (English, handler)
    "城乡建设": ("Urban and rural construction", "housing"),
    "党务政务": ("Party and government affairs", "district_office"),
    "国土资源": ("Land and resources", "natural_resources"),
    "环境保护": ("Environmental protection", "environment"),
    "纪检监察": ("Discipline inspection and supervision", "DISCIPLINE"),
    "交通运输": ("Transport", "transport"),
    "经济管理": ("Economic management", "DRC"),
    "科技与信息产业": ("Science, technology and information industry", "STI"),
    "民政": ("Civil affairs", "civil_affairs"),
    "农村农业": ("Agriculture and rural affairs", "agriculture"),
    "商贸旅游": ("Commerce, trade and tourism", "market_supervision"),
    "卫生计生": ("Health and family planning", "health"),
    "政法": ("Politics and law", "public_security"),
    "教育文体": ("Education, culture and sports", "education"),
    "劳动和社会保障": ("Labour and social security", "human_resources"),
}

# Level-2 branches handled by another department than their level-1 class.
LEVEL2_HANDLER = {
    ("城乡建设", "城市建设和市政管理"): "urban_management",
    ("城乡建设", "城乡规划"): "natural_resources",
    ("城乡建设", "安全生产"): "emergency",
    ("经济管理", "安全生产"): "emergency",
    ("农村农业", "水利水电"): "water",
    ("农村农业", "水库移民"): "water",
    ("农村农业", "林业管理"): "natural_resources",
    ("商贸旅游", "旅游管理"): "culture_tourism",
    ("教育文体", "文化"): "culture_tourism",
    ("教育文体", "体育"): "culture_tourism",
    ("教育文体", "文物管理"): "culture_tourism",
    ("卫生计生", "食品药品监管"): "market_supervision",
    ("政法", "法律服务"): "JUSTICE",
    ("政法", "仲裁与调解"): "JUSTICE",
    ("政法", "法制建设"): "JUSTICE",
    ("政法", "行政复议"): "JUSTICE",
}

# Matters the street/town office handles first (community and village matters).
STREET_LEVEL2 = {"基层选举和社区建设", "村务管理"}
STREET_LEVEL3 = {"小区管理", "物业服务", "居民服务设施", "环境卫生", "社区建设"}

LEVEL2_EN = {
    "安全生产": "Work safety",
    "城市建设和市政管理": "Urban construction and municipal works",
    "城乡规划": "Urban and rural planning",
    "村镇建设": "Village and town construction",
    "工程质量": "Construction quality",
    "国有土地上房屋征收与补偿": "Expropriation of housing on state land and compensation",
    "集体土地上房屋拆迁与补偿": "Demolition of housing on collective land and compensation",
    "建筑市场": "Construction market",
    "其他": "Other",
    "住房保障与房地产": "Housing security and real estate",
    "党的建设": "Party building",
    "港澳台侨": "Hong Kong, Macao, Taiwan and overseas Chinese affairs",
    "国防外交": "National defence and foreign affairs",
    "民族宗教": "Ethnic and religious affairs",
    "群众团体": "Mass organisations",
    "宣传舆论": "Publicity and public opinion",
    "政治体制": "Political system",
    "海洋气象地震": "Oceans, meteorology and earthquakes",
    "矿产资源管理": "Mineral resources management",
    "土地征收": "Land expropriation",
    "土地资源管理": "Land resources management",
    "环保管理": "Environmental protection management",
    "环境污染": "Environmental pollution",
    "建设项目审批": "Approval of construction projects",
    "党政处分": "Party and administrative sanctions",
    "干部作风": "Conduct of officials",
    "滥用职权": "Abuse of power",
    "失职渎职": "Dereliction of duty",
    "贪污贿赂": "Embezzlement and bribery",
    "出租车管理": "Taxi management",
    "建设管理": "Transport construction management",
    "交通运输": "Transport",
    "客货运输": "Passenger and freight transport",
    "邮政管理": "Postal services",
    "保险证券期货": "Insurance, securities and futures",
    "国资监管": "State-owned assets supervision",
    "宏观调控": "Macroeconomic regulation",
    "金融财税": "Finance and taxation",
    "能源管理": "Energy management",
    "企业破产": "Enterprise bankruptcy",
    "电信": "Telecommunications",
    "科学技术": "Science and technology",
    "信息化建设": "Informatisation",
    "知识产权": "Intellectual property",
    "福利慈善": "Welfare and charity",
    "复退安置": "Resettlement of demobilised servicemen",
    "基层选举和社区建设": "Grassroots elections and community building",
    "救灾募捐": "Disaster relief and donations",
    "民间组织": "Civil society organisations",
    "区划地名": "Administrative divisions and place names",
    "社会服务": "Social services",
    "社会救助": "Social assistance",
    "优抚": "Preferential treatment for veterans' families",
    "草原草场": "Grasslands",
    "村务管理": "Village affairs",
    "动物防疫": "Animal epidemic control",
    "扶贫开发": "Poverty alleviation",
    "惠农补贴": "Farm subsidies",
    "林业管理": "Forestry management",
    "农副产品流通": "Circulation of agricultural products",
    "农垦农场": "State farms",
    "农资农技": "Farm inputs and agricultural technology",
    "水库移民": "Reservoir resettlement",
    "水利水电": "Water conservancy and hydropower",
    "土地承包经营": "Land contracting",
    "野生资源管理": "Wildlife resources management",
    "旅游管理": "Tourism management",
    "商业贸易": "Commerce and trade",
    "市场监管": "Market supervision",
    "质监检验检疫": "Quality inspection and quarantine",
    "公共卫生": "Public health",
    "人口计生": "Population and family planning",
    "食品药品监管": "Food and drug supervision",
    "医患纠纷": "Doctor-patient disputes",
    "医政监管": "Medical administration",
    "法律服务": "Legal services",
    "法制建设": "Rule of law",
    "行政复议": "Administrative reconsideration",
    "户籍证件": "Household registration and identity papers",
    "交通管理": "Traffic policing",
    "警务督察": "Police inspection",
    "社会治安": "Public order",
    "诉讼": "Litigation",
    "刑案侦破": "Criminal investigation",
    "刑罚执行": "Execution of sentences",
    "仲裁与调解": "Arbitration and mediation",
    "教师队伍和待遇": "Teachers and their pay",
    "教育行政管理": "Education administration",
    "教育收费": "School fees",
    "教育体制": "Education system",
    "考试招生": "Examinations and admissions",
    "失学辍学": "School dropouts",
    "体育": "Sports",
    "文化": "Culture",
    "文物管理": "Cultural relics",
    "城镇居民社会保险": "Urban residents' social insurance",
    "城镇职工社会保险": "Urban employees' social insurance",
    "工资福利": "Wages and benefits",
    "就业培训": "Employment and training",
    "劳动保护": "Labour protection",
    "劳动关系": "Labour relations",
    "社保基金管理": "Social security fund management",
    "退休政策及待遇": "Retirement policy and pensions",
}
