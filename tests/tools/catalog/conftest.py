"""Shared builders for the catalog tests: a 30-product bilingual shop and its index."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agent.settings import Settings
from tools.catalog.embeddings import MiniLMEmbedder, load_embedder
from tools.catalog.search import ProductIndex, load_product_index
from tools.shop.store import ShopData, empty_table

# id, title, description, title_zh, description_zh, category, brand, price, stock, tags
ROWS: list[tuple[Any, ...]] = [
    ("P00001", "Summit Trail 30L Hiking Daypack",
     "Lightweight daypack for mountain trails with rain cover and hip belt.",
     "Summit Trail 30升徒步背包", "轻量登山双肩背包，带防雨罩和腰带，适合山地徒步。",
     "outdoor_gear", "Summit Trail", 89.0, 12, ["backpack", "hiking"]),
    ("P00002", "Summit Trail 45L Trekking Backpack",
     "Large trekking backpack with an aluminium frame for multi-day hikes.",
     "Summit Trail 45升登山包", "大容量登山背包，铝合金背架，适合多日徒步。",
     "outdoor_gear", "Summit Trail", 149.0, 5, ["backpack", "trekking"]),
    ("P00003", "Ridgeline Two-Person Tent",
     "Freestanding dome tent for two, waterproof fly and easy setup.",
     "Ridgeline 双人帐篷", "自立式双人圆顶帐篷，防水外帐，搭建简单。",
     "outdoor_gear", "Ridgeline", 199.0, 3, ["tent", "camping"]),
    ("P00004", "Ridgeline Down Sleeping Bag",
     "Warm goose down sleeping bag rated to minus five degrees.",
     "Ridgeline 羽绒睡袋", "保暖鹅绒睡袋，舒适温度零下五度。",
     "outdoor_gear", "Ridgeline", 179.0, 0, ["sleeping bag", "camping"]),
    ("P00005", "Summit Trail Trekking Poles",
     "Carbon trekking poles, adjustable and foldable, with cork grips.",
     "Summit Trail 登山杖", "碳纤维登山杖，可调节可折叠，软木手柄。",
     "outdoor_gear", "Summit Trail", 59.0, 20, ["poles", "hiking"]),
    ("P00006", "Ridgeline Headlamp 400",
     "Bright rechargeable headlamp for night hikes and camping.",
     "Ridgeline 头灯", "高亮可充电头灯，适合夜间徒步和露营。",
     "outdoor_gear", "Ridgeline", 35.0, 40, ["light", "camping"]),
    ("P00007", "Waterproof Hiking Jacket",
     "Breathable rain shell jacket for hiking in wet weather.",
     "防水徒步夹克", "透气防雨冲锋衣，适合雨天徒步。",
     "outdoor_gear", "Ridgeline", 129.0, 8, ["jacket", "rain"]),
    ("P00008", "Insulated Water Bottle 750ml",
     "Stainless steel bottle keeps drinks cold for 24 hours on the trail.",
     "保温水壶750毫升", "不锈钢保温瓶，冷饮保冷24小时。",
     "outdoor_gear", "Summit Trail", 29.0, 50, ["bottle"]),
    ("P00009", "Kettleworks Chef Knife 8in",
     "Forged steel chef's knife for slicing, dicing and chopping vegetables.",
     "Kettleworks 8英寸主厨刀", "锻造钢主厨刀，切片切丁切菜都好用。",
     "kitchen", "Kettleworks", 79.0, 15, ["knife", "cooking"]),
    ("P00010", "Kettleworks Cast Iron Skillet",
     "Pre-seasoned cast iron frying pan for searing and baking.",
     "Kettleworks 铸铁煎锅", "预开锅铸铁平底锅，适合煎烤。",
     "kitchen", "Kettleworks", 45.0, 22, ["pan", "cooking"]),
    ("P00011", "Kettleworks Electric Kettle",
     "Fast boiling electric kettle with temperature control for tea.",
     "Kettleworks 电热水壶", "快速烧水电水壶，可控温，适合泡茶。",
     "kitchen", "Kettleworks", 39.0, 18, ["kettle", "tea"]),
    ("P00012", "Bamboo Cutting Board Set", "Set of three bamboo cutting boards for the kitchen.",
     "竹制砧板三件套", "三块竹砧板，厨房必备。", "kitchen", "Homestead", 25.0, 30, ["board"]),
    ("P00013", "Homestead Ceramic Mixing Bowls",
     "Nesting ceramic bowls for mixing dough and salads.",
     "Homestead 陶瓷搅拌碗", "可叠放陶瓷碗，适合和面和拌沙拉。",
     "kitchen", "Homestead", 34.0, 0, ["bowl", "baking"]),
    ("P00014", "Kettleworks Pour-Over Coffee Dripper",
     "Ceramic dripper for brewing pour-over coffee at home.",
     "Kettleworks 手冲咖啡滤杯", "陶瓷滤杯，在家手冲咖啡。",
     "kitchen", "Kettleworks", 22.0, 25, ["coffee", "brewing"]),
    ("P00015", "Homestead Chef Apron", "Cotton apron with pockets for cooking and baking.",
     "Homestead 厨师围裙", "带口袋的棉质围裙，做饭烘焙都适用。",
     "kitchen", "Homestead", 18.0, 40, ["apron"]),
    ("P00016", "BeanCraft Ethiopia Whole Bean Coffee",
     "Light roast single origin coffee beans with floral and citrus notes.",
     "BeanCraft 埃塞俄比亚咖啡豆", "浅烘单品咖啡豆，花香和柑橘风味。",
     "grocery", "BeanCraft", 16.0, 60, ["coffee", "beans"]),
    ("P00017", "BeanCraft Espresso Blend", "Dark roast espresso coffee blend with chocolate notes.",
     "BeanCraft 意式拼配咖啡", "深烘意式浓缩拼配咖啡，巧克力风味。",
     "grocery", "BeanCraft", 14.0, 45, ["coffee", "espresso"]),
    ("P00018", "Jade Mountain Green Tea", "Loose leaf green tea from high mountain gardens.",
     "翠山绿茶", "高山茶园散装绿茶。", "grocery", "Jade Mountain", 12.0, 33, ["tea"]),
    ("P00019", "Jade Mountain Oolong Tea", "Roasted oolong tea leaves with a smooth honey finish.",
     "翠山乌龙茶", "焙火乌龙茶叶，蜜香顺滑。", "grocery", "Jade Mountain", 15.0, 27, ["tea"]),
    ("P00020", "Organic Rolled Oats", "Whole grain rolled oats for porridge and baking.",
     "有机燕麦片", "全谷物燕麦片，适合煮粥和烘焙。", "grocery", "Homestead", 6.0, 80,
     ["oats", "breakfast"]),
    ("P00021", "Wildflower Honey", "Raw wildflower honey from local beekeepers.",
     "野花蜂蜜", "本地养蜂人的生野花蜜。", "grocery", "Homestead", 11.0, 0, ["honey"]),
    ("P00022", "Dark Chocolate Bar 70%", "Rich dark chocolate bar made with fair trade cocoa.",
     "70%黑巧克力", "公平贸易可可制成的浓郁黑巧克力。", "grocery", "BeanCraft", 4.5, 120,
     ["chocolate", "snack"]),
    ("P00023", "Voltix Wireless Earbuds", "Noise cancelling wireless earbuds with a charging case.",
     "Voltix 无线耳机", "主动降噪无线耳机，附充电盒。", "electronics", "Voltix", 99.0, 14,
     ["audio", "earbuds"]),
    ("P00024", "Voltix Portable Power Bank", "20000 mAh power bank to charge phones on the go.",
     "Voltix 移动电源", "20000毫安充电宝，随时给手机充电。", "electronics", "Voltix", 39.0, 26,
     ["battery", "charging"]),
    ("P00025", "Voltix Bluetooth Speaker",
     "Waterproof bluetooth speaker for the beach and camping.",
     "Voltix 蓝牙音箱", "防水蓝牙音箱，适合海滩和露营。", "electronics", "Voltix", 59.0, 9,
     ["audio", "speaker"]),
    ("P00026", "Lumen Smart LED Bulb", "Dimmable smart light bulb controlled from your phone.",
     "Lumen 智能LED灯泡", "可调光智能灯泡，手机控制。", "electronics", "Lumen", 15.0, 70,
     ["light", "smart home"]),
    ("P00027", "Lumen Desk Lamp", "Adjustable LED desk lamp with warm and cool light.",
     "Lumen 台灯", "可调节LED台灯，冷暖光可选。", "electronics", "Lumen", 42.0, 11,
     ["light", "desk"]),
    ("P00028", "Voltix USB-C Charger 65W", "Fast USB-C wall charger for laptops and phones.",
     "Voltix 65瓦USB-C充电器", "快充USB-C充电器，适用于笔记本和手机。", "electronics", "Voltix",
     35.0, 0, ["charging"]),
    ("P00029", "Voltix Noise Cancelling Headphones",
     "Over-ear wireless headphones with long battery life.",
     "Voltix 降噪头戴耳机", "头戴式无线降噪耳机，续航持久。", "electronics", "Voltix", 199.0, 6,
     ["audio", "headphones"]),
    ("P00030", "Lumen Camping Lantern", "Rechargeable LED lantern for tents and power cuts.",
     "Lumen 露营灯", "可充电LED营地灯，帐篷和停电时使用。", "electronics", "Lumen", 27.0, 19,
     ["light", "camping"]),
]
COLUMNS = ["product_id", "title", "description", "title_zh", "description_zh", "category",
           "brand", "price", "stock", "tags"]
CATEGORY_NAMES = {
    "outdoor_gear": {"en": "outdoor gear", "zh": "户外装备"},
    "kitchen": {"en": "kitchen", "zh": "厨房用品"},
    "grocery": {"en": "grocery", "zh": "食品杂货"},
    "electronics": {"en": "electronics", "zh": "数码电子"},
}


def products_frame() -> pd.DataFrame:
    frame = pd.DataFrame(ROWS, columns=COLUMNS)
    frame["currency"] = "USD"
    frame["reviews"] = [[] for _ in range(len(frame))]
    return frame


def make_shop(products: pd.DataFrame, data_dir: Path) -> ShopData:
    return ShopData(
        customers=empty_table("customers"),
        products=products,
        events=empty_table("events"),
        campaigns=empty_table("campaigns"),
        exposures=empty_table("exposures"),
        meta={"categories": CATEGORY_NAMES},
        source_dir=data_dir,
    )


def make_settings(root: Path) -> Settings:
    return Settings(data_dir=root / "shop", state_dir=root / "state")


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return load_embedder()


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> ProductIndex:
    root = tmp_path_factory.mktemp("products")
    settings = make_settings(root)
    return load_product_index(make_shop(products_frame(), root / "shop"), settings, embedder)


