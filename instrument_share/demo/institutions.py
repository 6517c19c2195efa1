"""Static demo data: the nine G60 corridor cities, their institutions and demo firms.

Every institution below is real and really located (main campus, branch campus
or affiliated institute) in the city it is listed under.  The firms are
fictitious; their Unified Social Credit Codes carry the real administrative
division code of the district they are registered in and pass
``stdnum.cn.uscc.validate``.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY_CODES = (
    "songjiang",
    "jiaxing",
    "hangzhou",
    "jinhua",
    "suzhou",
    "huzhou",
    "xuancheng",
    "wuhu",
    "hefei",
)

CITY_NAMES = {
    "songjiang": "上海市松江区",
    "jiaxing": "嘉兴市",
    "hangzhou": "杭州市",
    "jinhua": "金华市",
    "suzhou": "苏州市",
    "huzhou": "湖州市",
    "xuancheng": "宣城市",
    "wuhu": "芜湖市",
    "hefei": "合肥市",
}

# area code, number of local digits, typical leading digits of local numbers
CITY_PHONES = {
    "songjiang": ("021", 8, ("6779", "5774", "3776", "5781")),
    "jiaxing": ("0573", 8, ("8364", "8218", "8359", "8702")),
    "hangzhou": ("0571", 8, ("8795", "8832", "8691", "8687", "8684", "8520")),
    "jinhua": ("0579", 8, ("8228", "8230", "8557", "8693")),
    "suzhou": ("0512", 8, ("6511", "6588", "6288", "8818", "6587")),
    "huzhou": ("0572", 7, ("232", "203", "236", "233")),
    "xuancheng": ("0563", 7, ("302", "301", "262", "303")),
    "wuhu": ("0553", 7, ("386", "387", "582", "573")),
    "hefei": ("0551", 8, ("6360", "6290", "6559", "6516", "6386")),
}


@dataclass(frozen=True)
class DemoInstitution:
    city: str
    name: str
    name_en: str
    kind: str  # "university" | "institute" | "hospital" | "testing"
    slug: str


@dataclass(frozen=True)
class InstitutionProfile:
    """How the generator treats an institution (not part of the public record)."""

    size: int  # number of instruments to generate
    since: int  # earliest plausible commissioning year
    tags: frozenset[str]  # research fields, matched against instrument-type tags
    sites: tuple[str, ...]  # buildings where instruments are installed


@dataclass(frozen=True)
class DemoFirm:
    city: str
    name: str
    uscc: str


def _i(city: str, name: str, name_en: str, kind: str, slug: str) -> DemoInstitution:
    return DemoInstitution(city=city, name=name, name_en=name_en, kind=kind, slug=slug)


INSTITUTIONS: tuple[DemoInstitution, ...] = (
    # --- Songjiang (Shanghai) ---
    _i("songjiang", "东华大学", "Donghua University", "university", "dhu"),
    _i("songjiang", "上海工程技术大学", "Shanghai University of Engineering Science", "university", "sues"),
    _i("songjiang", "中国科学院上海天文台", "Shanghai Astronomical Observatory, Chinese Academy of Sciences",
       "institute", "shao"),
    _i("songjiang", "上海农林职业技术学院", "Shanghai Vocational College of Agriculture and Forestry",
       "university", "shafc"),
    _i("songjiang", "上海市第一人民医院（南部）", "Shanghai General Hospital (South Campus)", "hospital", "sgh"),
    _i("songjiang", "上海市松江区中心医院", "Songjiang District Central Hospital, Shanghai", "hospital", "sjch"),
    # --- Jiaxing ---
    _i("jiaxing", "嘉兴学院", "Jiaxing University", "university", "zjxu"),
    _i("jiaxing", "浙江清华长三角研究院", "Yangtze Delta Region Institute of Tsinghua University, Zhejiang",
       "institute", "yrdi"),
    _i("jiaxing", "嘉兴南湖学院", "Jiaxing Nanhu University", "university", "jxnhu"),
    _i("jiaxing", "同济大学浙江学院", "Tongji Zhejiang College", "university", "tjzj"),
    _i("jiaxing", "嘉兴职业技术学院", "Jiaxing Vocational & Technical College", "university", "jxvtc"),
    _i("jiaxing", "浙江大学海宁国际校区", "International Campus, Zhejiang University (Haining)", "university",
       "zjui"),
    _i("jiaxing", "北京理工大学长三角研究院（嘉兴）",
       "Yangtze Delta Region Academy of Beijing Institute of Technology, Jiaxing", "institute", "bityrd"),
    _i("jiaxing", "嘉兴市第一医院", "The First Hospital of Jiaxing", "hospital", "jxfh"),
    # --- Hangzhou ---
    _i("hangzhou", "浙江大学", "Zhejiang University", "university", "zju"),
    _i("hangzhou", "西湖大学", "Westlake University", "university", "westlake"),
    _i("hangzhou", "之江实验室", "Zhejiang Lab", "institute", "zhejianglab"),
    _i("hangzhou", "浙江工业大学", "Zhejiang University of Technology", "university", "zjut"),
    _i("hangzhou", "杭州电子科技大学", "Hangzhou Dianzi University", "university", "hdu"),
    _i("hangzhou", "中国计量大学", "China Jiliang University", "university", "cjlu"),
    _i("hangzhou", "浙江理工大学", "Zhejiang Sci-Tech University", "university", "zstu"),
    _i("hangzhou", "杭州师范大学", "Hangzhou Normal University", "university", "hznu"),
    _i("hangzhou", "中国科学院大学杭州高等研究院",
       "Hangzhou Institute for Advanced Study, University of Chinese Academy of Sciences", "institute", "hias"),
    _i("hangzhou", "浙江省计量科学研究院", "Zhejiang Institute of Metrology", "testing", "zjim"),
    _i("hangzhou", "浙江大学医学院附属第一医院",
       "The First Affiliated Hospital, Zhejiang University School of Medicine", "hospital", "zjufah"),
    # --- Jinhua ---
    _i("jinhua", "浙江师范大学", "Zhejiang Normal University", "university", "zjnu"),
    _i("jinhua", "金华职业技术大学", "Jinhua University of Vocational Technology", "university", "juvt"),
    _i("jinhua", "浙江广厦建设职业技术大学", "Zhejiang Guangsha Vocational and Technical University of Construction",
       "university", "zjgsdx"),
    _i("jinhua", "义乌工商职业技术学院", "Yiwu Industrial & Commercial College", "university", "ywicc"),
    _i("jinhua", "浙江大学医学院附属第四医院",
       "The Fourth Affiliated Hospital, Zhejiang University School of Medicine", "hospital", "zju4h"),
    _i("jinhua", "金华市中心医院", "Jinhua Municipal Central Hospital", "hospital", "jhch"),
    # --- Suzhou ---
    _i("suzhou", "苏州大学", "Soochow University", "university", "suda"),
    _i("suzhou", "西交利物浦大学", "Xi'an Jiaotong-Liverpool University", "university", "xjtlu"),
    _i("suzhou", "中国科学院苏州纳米技术与纳米仿生研究所",
       "Suzhou Institute of Nano-Tech and Nano-Bionics, Chinese Academy of Sciences", "institute", "sinano"),
    _i("suzhou", "中国科学院苏州生物医学工程技术研究所",
       "Suzhou Institute of Biomedical Engineering and Technology, Chinese Academy of Sciences", "institute",
       "sibet"),
    _i("suzhou", "苏州科技大学", "Suzhou University of Science and Technology", "university", "usts"),
    _i("suzhou", "昆山杜克大学", "Duke Kunshan University", "university", "dku"),
    _i("suzhou", "常熟理工学院", "Changshu Institute of Technology", "university", "cslg"),
    _i("suzhou", "南京大学苏州校区", "Nanjing University, Suzhou Campus", "university", "njusz"),
    _i("suzhou", "中国科学技术大学苏州高等研究院",
       "Suzhou Institute for Advanced Research, University of Science and Technology of China", "institute",
       "ustcsz"),
    _i("suzhou", "苏州大学附属第一医院", "The First Affiliated Hospital of Soochow University", "hospital",
       "sudafh"),
    _i("suzhou", "苏州市计量测试院", "Suzhou Institute of Metrology", "testing", "szim"),
    # --- Huzhou ---
    _i("huzhou", "湖州师范学院", "Huzhou University", "university", "zjhu"),
    _i("huzhou", "湖州学院", "Huzhou College", "university", "hzc"),
    _i("huzhou", "湖州职业技术学院", "Huzhou Vocational & Technical College", "university", "hzvtc"),
    _i("huzhou", "浙江大学湖州研究院", "Huzhou Institute of Zhejiang University", "institute", "zjuhz"),
    _i("huzhou", "浙江工业大学莫干山校区", "Zhejiang University of Technology, Moganshan Campus", "university",
       "zjutmgs"),
    _i("huzhou", "湖州市中心医院", "Huzhou Central Hospital", "hospital", "hzch"),
    # --- Xuancheng ---
    _i("xuancheng", "宣城职业技术学院", "Xuancheng Vocational & Technical College", "university", "xcvtc"),
    _i("xuancheng", "合肥工业大学宣城校区", "Hefei University of Technology, Xuancheng Campus", "university",
       "hfutxc"),
    _i("xuancheng", "宣城市人民医院", "Xuancheng People's Hospital", "hospital", "xcph"),
    _i("xuancheng", "宣城市中心医院", "Xuancheng Central Hospital", "hospital", "xcch"),
    # --- Wuhu ---
    _i("wuhu", "安徽师范大学", "Anhui Normal University", "university", "ahnu"),
    _i("wuhu", "安徽工程大学", "Anhui Polytechnic University", "university", "ahpu"),
    _i("wuhu", "皖南医学院", "Wannan Medical College", "university", "wnmc"),
    _i("wuhu", "皖南医学院弋矶山医院", "Yijishan Hospital of Wannan Medical College", "hospital", "yjsh"),
    _i("wuhu", "芜湖职业技术学院", "Wuhu Institute of Technology", "university", "whit"),
    _i("wuhu", "安徽信息工程学院", "Anhui Institute of Information Technology", "university", "aiit"),
    _i("wuhu", "安徽机电职业技术学院", "Anhui Technical College of Mechanical and Electrical Engineering",
       "university", "ahcme"),
    # --- Hefei ---
    _i("hefei", "中国科学技术大学", "University of Science and Technology of China", "university", "ustc"),
    _i("hefei", "合肥工业大学", "Hefei University of Technology", "university", "hfut"),
    _i("hefei", "安徽大学", "Anhui University", "university", "ahu"),
    _i("hefei", "中国科学院合肥物质科学研究院", "Hefei Institutes of Physical Science, Chinese Academy of Sciences",
       "institute", "hfips"),
    _i("hefei", "安徽医科大学", "Anhui Medical University", "university", "ahmu"),
    _i("hefei", "安徽农业大学", "Anhui Agricultural University", "university", "ahau"),
    _i("hefei", "安徽建筑大学", "Anhui Jianzhu University", "university", "ahjzu"),
    _i("hefei", "合肥大学", "Hefei University", "university", "hfuu"),
    _i("hefei", "中国科学技术大学附属第一医院（安徽省立医院）",
       "The First Affiliated Hospital of USTC (Anhui Provincial Hospital)", "hospital", "ustcfah"),
    _i("hefei", "安徽省计量科学研究院", "Anhui Institute of Metrology", "testing", "ahim"),
)

# Research-field tags used by the generator:
#   mat materials, chem chemistry, bio life science, med medicine, clinic hospital lab,
#   phys physics, ee electronics, mech mechanical/automotive, env environment,
#   geo earth science, atmos atmosphere, astro astronomy, textile, agri agriculture,
#   food, comp computing, nuclear, civil civil engineering, metro metrology/testing,
#   energy batteries/fuel cells, water hydrology/limnology
_UNI_ALL = "mat chem bio med phys ee mech env geo atmos textile agri food comp nuclear civil energy water"
_HOSPITAL = "clinic med bio"
_VOC = "mech chem food ee mat"
_TESTING = "metro ee mech chem env food mat"


def _p(size: int, since: int, tags: str, *sites: str) -> InstitutionProfile:
    return InstitutionProfile(size=size, since=since, tags=frozenset(tags.split()), sites=sites)


PROFILES: dict[str, InstitutionProfile] = {
    # Songjiang
    "dhu": _p(28, 2008, "textile mat chem bio env mech phys energy",
              "松江校区分析测试中心", "松江校区纺织学院楼", "松江校区材料科学与工程学院楼",
              "松江校区化学与化工学院楼", "松江校区环境科学与工程学院楼"),
    "sues": _p(14, 2008, "mech mat chem ee textile energy",
               "松江校区现代分析测试中心", "松江校区材料工程学院楼", "松江校区机械与汽车工程学院楼",
               "松江校区电子电气工程学院楼"),
    "shao": _p(7, 2008, "astro comp",
               "佘山科技园区观测楼", "佘山天马站控制楼", "佘山科技园区综合实验楼"),
    "shafc": _p(5, 2010, "agri food bio env",
                "中山二路校区生物技术实训楼", "中山二路校区食品检测实训中心"),
    "sgh": _p(8, 2008, _HOSPITAL, "南部科研楼", "南部医技楼", "南部临床研究中心"),
    "sjch": _p(5, 2010, _HOSPITAL, "科教楼", "医技楼"),
    # Jiaxing
    "zjxu": _p(14, 2008, "textile mat chem bio med ee food",
               "越秀校区分析测试中心", "越秀校区材料与纺织工程学院楼", "梁林校区医学院实验楼"),
    "yrdi": _p(12, 2008, "mat chem bio ee env energy",
               "研究院本部分析测试中心", "研究院本部科研楼", "研究院中试基地"),
    "jxnhu": _p(6, 2012, "mech ee chem mat", "实验实训中心", "工程实训楼"),
    "tjzj": _p(5, 2010, "civil mech ee", "实验中心", "土木工程实验楼"),
    "jxvtc": _p(5, 2010, _VOC, "实训楼", "检验检测实训中心"),
    "zjui": _p(12, 2016, "ee mat comp bio phys mech",
               "国际校区科研大楼", "国际校区联合学院实验楼", "国际校区生物医学交叉研究院楼"),
    "bityrd": _p(10, 2021, "mech ee mat phys comp energy",
                 "研究院科研一号楼", "研究院科研二号楼", "研究院中试平台"),
    "jxfh": _p(6, 2010, _HOSPITAL, "科教楼", "医技楼"),
    # Hangzhou
    "zju": _p(48, 2008, _UNI_ALL,
              "紫金港校区分析测试中心", "玉泉校区曹光彪科技楼", "紫金港校区农生环大楼",
              "紫金港校区医学院医药楼", "玉泉校区教十二", "紫金港校区化学实验楼", "紫金港校区冷冻电镜中心",
              "玉泉校区土木水利实验楼", "紫金港校区地球科学学院楼"),
    "westlake": _p(22, 2018, "bio med chem phys mat comp",
                   "云谷校区生命科学学院实验楼", "云谷校区理学院实验楼", "云谷校区冷冻电镜平台",
                   "云谷校区分子科学公共实验平台", "云谷校区高性能计算中心"),
    "zhejianglab": _p(20, 2018, "comp ee phys bio mat",
                      "南湖总部智能计算中心", "南湖总部光电实验楼", "南湖总部集成电路实验楼",
                      "南湖总部生物计算实验楼"),
    "zjut": _p(24, 2008, "chem mat mech env food bio ee energy",
               "屏峰校区分析测试中心", "屏峰校区机械工程学院楼", "朝晖校区化学工程学院楼",
               "屏峰校区材料科学与工程学院楼"),
    "hdu": _p(16, 2008, "ee comp mat phys mech",
              "下沙校区第一科研楼", "下沙校区电子信息学院楼", "下沙校区微电子研究院楼"),
    "cjlu": _p(16, 2008, "metro ee mat phys chem food mech",
               "下沙校区计量测试工程学院楼", "下沙校区光学与电子科技学院楼", "下沙校区分析测试中心"),
    "zstu": _p(16, 2008, "textile mat chem bio mech",
               "下沙校区纺织科学与工程学院楼", "下沙校区材料科学与工程学院楼", "下沙校区分析测试中心"),
    "hznu": _p(12, 2008, "chem mat bio med env",
               "仓前校区恕园实验楼", "仓前校区分析测试中心", "仓前校区医学部实验楼"),
    "hias": _p(14, 2019, "chem phys mat bio env",
               "杭州高等研究院实验一号楼", "杭州高等研究院实验二号楼"),
    "zjim": _p(10, 2008, _TESTING + " nuclear", "下沙院区计量实验楼", "下沙院区电磁兼容实验室"),
    "zjufah": _p(10, 2008, _HOSPITAL, "庆春院区科研楼", "余杭院区医技楼", "庆春院区转化医学中心"),
    # Jinhua
    "zjnu": _p(22, 2008, "chem mat phys bio env geo ee",
               "金华本部分析测试中心", "金华本部化学与材料科学学院楼", "金华本部物理与电子信息工程学院楼",
               "金华本部生命科学学院楼"),
    "juvt": _p(8, 2010, _VOC + " agri bio",
               "实训中心", "制药学院实验楼", "机电工程学院实训楼"),
    "zjgsdx": _p(5, 2012, "civil mech mat", "东阳校区建筑材料实训楼", "东阳校区工程实训中心"),
    "ywicc": _p(4, 2012, "mech mat textile", "实训楼", "创意设计学院实验楼"),
    "zju4h": _p(8, 2014, _HOSPITAL, "义乌院区科研楼", "义乌院区医技楼"),
    "jhch": _p(5, 2010, _HOSPITAL, "科教楼", "医技楼"),
    # Suzhou
    "suda": _p(42, 2008, _UNI_ALL,
               "独墅湖校区分析测试中心", "独墅湖校区纳米科学技术学院楼", "天赐庄校区本部理工楼",
               "独墅湖校区医学部实验楼", "阳澄湖校区机电工程学院楼", "天赐庄校区放射医学与防护学院楼"),
    "xjtlu": _p(16, 2010, "chem bio mat ee comp env mech",
                "南校区科研楼", "南校区实验楼", "北校区理科楼"),
    "sinano": _p(24, 2008, "mat ee phys chem bio",
                 "纳米真空互联实验站", "测试分析平台", "纳米加工平台洁净间"),
    "sibet": _p(16, 2008, "bio med ee phys",
                "科技城园区实验一号楼", "科技城园区医学影像实验楼", "科技城园区光学实验楼"),
    "usts": _p(14, 2008, "env civil chem mat water",
               "石湖校区分析测试中心", "江枫校区环境科学与工程学院楼", "石湖校区材料科学与工程学院楼"),
    "dku": _p(8, 2014, "bio env chem comp", "学术楼实验室", "创新大楼"),
    "cslg": _p(8, 2008, "mech mat chem ee", "东南校区分析测试中心", "东湖校区机械工程学院楼"),
    "njusz": _p(12, 2023, "ee comp mat chem env atmos astro",
                "苏州校区实验楼", "苏州校区集成电路学院楼", "苏州校区前沿科学学院楼"),
    "ustcsz": _p(10, 2010, "mat bio ee comp",
                 "独墅湖科教创新区实验楼", "独墅湖科教创新区纳米学院楼"),
    "sudafh": _p(8, 2008, _HOSPITAL, "平江院区科教楼", "十梓街院区医技楼"),
    "szim": _p(8, 2008, _TESTING, "计量测试大楼", "电磁兼容实验楼"),
    # Huzhou
    "zjhu": _p(14, 2008, "chem bio med mat env agri water",
               "东校区分析测试中心", "东校区理学院实验楼", "西校区医学院实验楼"),
    "hzc": _p(6, 2012, "mech ee chem", "实验中心", "智能制造实训楼"),
    "hzvtc": _p(5, 2010, _VOC, "实训楼", "机电工程实训中心"),
    "zjuhz": _p(8, 2019, "ee mech comp mat", "南太湖新区研发楼", "南太湖新区中试基地"),
    "zjutmgs": _p(12, 2019, "chem mat bio env food",
                  "莫干山校区化学工程学院楼", "莫干山校区材料科学与工程学院楼", "莫干山校区药学院楼"),
    "hzch": _p(5, 2010, _HOSPITAL, "科教楼", "医技楼"),
    # Xuancheng
    "xcvtc": _p(5, 2010, _VOC, "实训中心", "检测实训楼"),
    "hfutxc": _p(10, 2012, "mech mat chem ee civil",
                 "宣城校区分析测试中心", "宣城校区工程训练中心", "宣城校区实验楼"),
    "xcph": _p(5, 2010, _HOSPITAL, "科教楼", "医技楼"),
    "xcch": _p(4, 2010, _HOSPITAL, "医技楼", "科研楼"),
    # Wuhu
    "ahnu": _p(22, 2008, "chem mat bio env geo phys water ee",
               "花津校区分析测试中心", "花津校区化学与材料科学学院楼", "花津校区生命科学学院楼",
               "花津校区地理与旅游学院楼"),
    "ahpu": _p(16, 2008, "mech textile mat chem ee",
               "本部分析测试中心", "本部机械工程学院楼", "本部纺织服装学院楼"),
    "wnmc": _p(12, 2008, "med bio chem", "科研实验中心", "药学院实验楼", "基础医学院实验楼"),
    "yjsh": _p(8, 2008, _HOSPITAL, "科研楼", "医技楼"),
    "whit": _p(6, 2010, _VOC, "实训中心", "汽车工程实训楼"),
    "aiit": _p(5, 2012, "ee comp mech", "实验楼", "电气与电子工程学院实验楼"),
    "ahcme": _p(5, 2010, "mech ee mat", "实训中心", "数控技术实训楼"),
    # Hefei
    "ustc": _p(46, 2008, _UNI_ALL,
               "东区理化科学实验中心", "西区合肥微尺度物质科学国家研究中心大楼", "西区国家同步辐射实验室",
               "西区生命科学学院楼", "高新校区先进技术研究院楼", "西区火灾科学国家重点实验室",
               "东区地球和空间科学学院楼"),
    "hfut": _p(26, 2008, "mech mat chem ee civil env energy geo",
               "屯溪路校区分析测试中心", "翡翠湖校区材料科学与工程学院楼", "屯溪路校区机械工程学院楼",
               "翡翠湖校区汽车工程技术研究院楼", "屯溪路校区资源与环境工程学院楼"),
    "ahu": _p(26, 2008, "chem mat phys bio ee env comp",
              "磬苑校区现代实验技术中心", "磬苑校区化学化工学院楼", "磬苑校区物质科学与信息技术研究院楼",
              "磬苑校区生命科学学院楼"),
    "hfips": _p(30, 2008, "phys atmos nuclear mat env bio chem",
                "科学岛稳态强磁场实验装置楼", "科学岛安徽光机所大气光学楼", "科学岛固体物理研究所实验楼",
                "科学岛等离子体物理研究所实验楼", "科学岛分析测试中心"),
    "ahmu": _p(14, 2008, "med bio chem", "梅山路校区科研楼", "东校区基础医学院实验楼", "东校区药学院实验楼"),
    "ahau": _p(14, 2008, "agri bio food env chem",
               "长江西路校区农业与生物技术实验楼", "长江西路校区茶与食品科技学院楼", "农萃园实验中心"),
    "ahjzu": _p(10, 2008, "civil mat env mech geo",
                "紫云校区土木工程学院实验楼", "紫云校区材料与化学工程学院楼", "紫云校区环境与能源工程学院楼"),
    "hfuu": _p(8, 2010, "chem mat bio food ee", "实验楼", "生物食品与环境学院实验楼"),
    "ustcfah": _p(10, 2008, _HOSPITAL, "总院区科研楼", "南区医技楼", "总院区临床研究中心"),
    "ahim": _p(8, 2008, _TESTING + " nuclear", "计量测试大楼", "电磁与无线电计量实验楼"),
}

FIRMS: tuple[DemoFirm, ...] = (
    DemoFirm("songjiang", "上海泖塔精密机械有限公司", "91310117MA99J48741"),
    DemoFirm("songjiang", "上海茸锐生物医药科技有限公司", "913101176750122612"),
    DemoFirm("songjiang", "上海辰峰集成电路材料有限公司", "91310117MA17LRW075"),
    DemoFirm("jiaxing", "嘉兴禾润新材料有限公司", "91330402MADRP5494C"),
    DemoFirm("jiaxing", "海宁潮晟纺织科技有限公司", "913304817289890931"),
    DemoFirm("jiaxing", "嘉善鸳湖汽车零部件有限公司", "91330421MAJ3940Y28"),
    DemoFirm("hangzhou", "杭州钱芯微电子有限公司", "91330108MAJ79R7H4H"),
    DemoFirm("hangzhou", "杭州澜湾生物医药有限公司", "91330110613243398E"),
    DemoFirm("hangzhou", "杭州云翎光电科技有限公司", "91330106MALY3GAR0R"),
    DemoFirm("jinhua", "永康锐驰五金工具有限公司", "91330784MAFBC2TG0R"),
    DemoFirm("jinhua", "义乌联织针纺科技有限公司", "91330782710081124U"),
    DemoFirm("jinhua", "金华婺光新能源科技有限公司", "91330703MAUCNAHH2P"),
    DemoFirm("suzhou", "苏州吴芯半导体科技有限公司", "91320505MACPQCHN2Q"),
    DemoFirm("suzhou", "昆山汇瑞精密模具有限公司", "91320583725571898D"),
    DemoFirm("suzhou", "苏州澄湖生物医药有限公司", "91320506MAWC0E8G6M"),
    DemoFirm("huzhou", "长兴蓄源电池科技有限公司", "91330522MA43UR7D5P"),
    DemoFirm("huzhou", "德清莫晟地理信息科技有限公司", "91330521718608701J"),
    DemoFirm("huzhou", "湖州丝韵家纺有限公司", "91330502MADY3Y1J2A"),
    DemoFirm("xuancheng", "宁国恒岳橡塑密封件有限公司", "91341881MALQTPM64E"),
    DemoFirm("xuancheng", "广德鑫源电路板有限公司", "91341882525672395G"),
    DemoFirm("xuancheng", "宣城敬亭新材料科技有限公司", "91341802MAX0FAUL9P"),
    DemoFirm("wuhu", "芜湖鸠兹汽车零部件有限公司", "91340207MATW70AP5A"),
    DemoFirm("wuhu", "芜湖江岸机器人科技有限公司", "91340200675134533K"),
    DemoFirm("wuhu", "芜湖镜澜新材料科技有限公司", "91340202MAPHHLL52X"),
    DemoFirm("hefei", "合肥庐芯集成电路有限公司", "91340100MAXGB8YQ2M"),
    DemoFirm("hefei", "合肥皖晶新能源科技有限公司", "91340104526738536E"),
    DemoFirm("hefei", "合肥蜀峰生物医药有限公司", "91340111MAG33M478Y"),
)
