"""Phrase banks of the demo shop: review and closing lines, names, places and CRM notes.

Hand-written text banks: the customer and CRM text must read like a real shop in English
and Chinese, and no library ships fictional bilingual people. Every name, street, phone area
and note is fictional; some notes carry personal details on purpose (they must never reach a
model).
"""

from __future__ import annotations

from tools.shop.demo.world import Pair

CLOSINGS_EN: tuple[str, ...] = (
    "Backed by a two-year warranty.", "Free returns within 30 days.",
    "Designed in our studio and tested by our team.", "A customer favourite since launch.",
    "Ships in plastic-free packaging.", "",
)

REVIEWS_EN: tuple[str, ...] = (
    "Love this {type}, exactly as described.", "The {material} feels sturdy and well made.",
    "Arrived fast; smaller than I expected but works well.", "Great for {use}. Would buy again.",
    "Good value for the price.", "Returned it: the size ran small.",
    "Second {brand} purchase and still impressed.", "Does the job, nothing special.",
    "Bought it as a gift and they loved it.", "Quality dropped compared to my last one.",
)
REVIEWS_ZH: tuple[str, ...] = (
    "质量很好，{type}很实用。", "物流很快，适合{use}。", "性价比高，会回购。", "和描述一致，推荐。",
    "尺寸偏小，其他都不错。",
)

EN_FEMALE: tuple[str, ...] = (
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
    "Evelyn", "Abigail", "Emily", "Ella", "Grace", "Chloe", "Lily", "Hannah", "Zoe", "Nora",
    "Lucy", "Sarah", "Anna", "Laura", "Megan", "Rachel", "Jessica", "Priya", "Maria", "Sofia",
    "Aisha",
)
EN_MALE: tuple[str, ...] = (
    "Liam", "Noah", "Oliver", "Elijah", "James", "William", "Benjamin", "Lucas", "Henry",
    "Alexander", "Jack", "Daniel", "Matthew", "Samuel", "David", "Joseph", "Michael", "Ethan",
    "Ryan", "Thomas", "Andrew", "Chris", "Mark", "Paul", "Omar", "Carlos", "Raj", "Leo",
    "Isaac", "Nathan",
)
EN_LAST: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen",
    "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell",
    "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins",
    "Stewart", "Murphy", "Cook", "Rogers", "Morgan", "Patel", "Khan", "Nguyen", "Kim", "O'Brien",
    "Murray", "Fraser", "Hughes", "Bennett", "Wood",
)
ZH_SURNAMES: tuple[Pair, ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
    ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"),
    ("唐", "tang"), ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"), ("潘", "pan"),
)
ZH_FEMALE: tuple[Pair, ...] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
    ("娟", "juan"), ("霞", "xia"), ("婷", "ting"), ("雪", "xue"), ("慧", "hui"), ("欣怡", "xinyi"),
    ("梓涵", "zihan"), ("雨萱", "yuxuan"), ("思琪", "siqi"), ("佳怡", "jiayi"), ("晓燕", "xiaoyan"),
    ("秀英", "xiuying"), ("丹", "dan"), ("玉兰", "yulan"), ("悦", "yue"), ("可馨", "kexin"),
)
ZH_MALE: tuple[Pair, ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("刚", "gang"),
    ("浩然", "haoran"), ("子轩", "zixuan"), ("宇航", "yuhang"), ("俊杰", "junjie"),
    ("建华", "jianhua"), ("志强", "zhiqiang"),
    ("文博", "wenbo"), ("鹏", "peng"), ("晨", "chen"), ("斌", "bin"), ("思远", "siyuan"),
)
CITIES_EN: tuple[tuple[str, str, str], ...] = (
    ("New York", "United States", "+1 212"), ("Los Angeles", "United States", "+1 213"),
    ("Chicago", "United States", "+1 312"), ("Houston", "United States", "+1 713"),
    ("Seattle", "United States", "+1 206"), ("Boston", "United States", "+1 617"),
    ("Denver", "United States", "+1 303"), ("Austin", "United States", "+1 512"),
    ("Portland", "United States", "+1 503"), ("San Francisco", "United States", "+1 415"),
    ("Atlanta", "United States", "+1 404"), ("Miami", "United States", "+1 305"),
    ("Toronto", "Canada", "+1 416"), ("Vancouver", "Canada", "+1 604"),
    ("London", "United Kingdom", "+44 20 7946"), ("Manchester", "United Kingdom", "+44 161 496"),
    ("Sydney", "Australia", "+61 2 5550"), ("Melbourne", "Australia", "+61 3 7010"),
)
CITIES_ZH: tuple[tuple[str, str, str], ...] = (
    ("Beijing", "北京市", "朝阳区"), ("Shanghai", "上海市", "浦东新区"),
    ("Guangzhou", "广州市", "天河区"), ("Shenzhen", "深圳市", "南山区"),
    ("Hangzhou", "杭州市", "西湖区"), ("Chengdu", "成都市", "武侯区"),
    ("Nanjing", "南京市", "鼓楼区"), ("Wuhan", "武汉市", "洪山区"), ("Xi'an", "西安市", "雁塔区"),
    ("Chongqing", "重庆市", "渝中区"), ("Suzhou", "苏州市", "姑苏区"),
    ("Tianjin", "天津市", "和平区"),
)
STREETS_EN: tuple[str, ...] = (
    "Maple Street", "Oak Avenue", "Cedar Lane", "Elm Road", "Pine Street", "Lakeview Drive",
    "Hillcrest Road", "Sunset Boulevard", "River Road", "Park Avenue", "Church Street",
    "Willow Way", "Highland Avenue", "Station Road", "Mill Lane", "Harbour Street",
)
STREETS_ZH: tuple[str, ...] = (
    "人民路", "中山路", "解放路", "建设路", "和平街", "新华路", "长江路", "世纪大道", "文化路",
    "南京路",
)
NOTES_EN: tuple[str, ...] = (
    "prefers weekend deliveries", "called about a refund for order #{order}",
    "asked to leave parcels with the neighbour", "complained about a late delivery",
    "new phone number {phone}, please update", "ships to {address}; side gate code on file",
    "allergic to latex, mentioned in chat", "wants invoices by email only",
    "always asks for gift wrapping", "buying gifts for a daughter's wedding",
    "price-conscious: asked twice for a discount code", "reported a damaged item, replaced",
    "happy with the support call, left a five-star review", "moving house next month",
    "prefers to be called {first}", "asked not to receive catalogue mail",
    "VIP: bought for the whole team at the office", "left a voicemail on {phone}",
)
NOTES_ZH: tuple[str, ...] = (
    "希望周末送货", "来电询问订单#{order}的退款", "新手机号{phone}，请更新",
    "收货地址改为{address}",
    "对物流速度不满意", "要求电子发票", "每次都要礼品包装", "喜欢打折活动，问过优惠码",
    "商品有破损，已补发", "客服回访满意，给了五星好评", "下个月搬家",
)
