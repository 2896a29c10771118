"""The words customers use for what a shop sells: product-noun synonyms, category words, sizes, relative dates.

Shop vocabulary, not rules for particular messages: a customer says "coat" for a
jacket, "the shoes" for anything in footwear, "medium" for M. Product names
themselves come from the customer's own orders at run time.
"""

from __future__ import annotations

# A product noun (as it appears in product names, lower case) -> other words customers use for it.
NOUN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "jacket": ("coat", "raincoat", "shell", "anorak", "windbreaker"),
    "hoodie": ("hoody", "sweatshirt", "hooded"),
    "t-shirt": ("tee", "tshirt", "t shirt", "shirt", "top"),
    "shirt": ("top", "button down", "button-down"),
    "polo": ("shirt", "top"),
    "chinos": ("trousers", "pants", "chino", "khakis", "slacks"),
    "sweater": ("jumper", "knit", "pullover"),
    "vest": ("gilet", "puffer", "bodywarmer"),
    "beanie": ("hat", "cap"),
    "sunhat": ("hat", "sun hat"),
    "socks": ("sock",),
    "shorts": ("trunks", "swimsuit", "swimwear"),
    "shoes": ("shoe", "loafers"),
    "runners": ("running shoes", "trainers", "sneakers", "shoes", "trail shoes"),
    "sneakers": ("trainers", "shoes", "kicks"),
    "slippers": ("slipper",),
    "boots": ("boot", "wellies", "wellingtons"),
    "mug": ("cup", "mugs"),
    "blanket": ("throw",),
    "candle": ("candles",),
    "bedding": ("sheets", "duvet", "bed linen", "bedsheets"),
    "towels": ("towel",),
    "frame": ("picture frame", "photo frame"),
    "cushion": ("pillow",),
    "lamp": ("light",),
    "armchair": ("chair",),
    "basket": ("storage",),
    "skillet": ("pan", "frying pan", "fry pan", "cast iron"),
    "knife": ("knives",),
    "espresso": ("coffee machine", "coffee maker", "espresso maker", "coffee"),
    "press": ("cafetiere", "coffee press", "french press"),
    "board": ("chopping board",),
    "oven": ("pot", "casserole", "dutch oven"),
    "apron": (),
    "sampler": ("spices", "spice box"),
    "kettle": ("pour over", "pourover"),
    "bottle": ("flask", "water bottle"),
    "pack": ("backpack", "rucksack", "bag", "daypack"),
    "tent": (),
    "chair": ("camping chair",),
    "headlamp": ("head torch", "torch", "flashlight", "head lamp"),
    "bag": ("sack",),
    "paddle": ("sup", "paddleboard"),
    "tote": ("bag", "tote bag", "shopping bag"),
    "wallet": ("purse",),
    "sunglasses": ("shades", "glasses"),
    "earbuds": ("headphones", "earphones", "buds", "airpods", "ear buds"),
    "charger": ("charging cable", "adapter", "plug"),
    "keyring": ("keychain", "key ring"),
    "strap": ("watch band", "band"),
    "umbrella": ("brolly",),
    "glasses": ("readers", "reading glasses"),
    "card": ("gift card", "voucher"),
}

# A payment method as customers name it -> the words of a method's masked name it fits ("Amex •••• 0005", "PayPal").
PAYMENT_WORDS: dict[str, tuple[str, ...]] = {
    "paypal": ("paypal",),
    "american express": ("amex", "american express"),
    "amex": ("amex", "american express"),
    "mastercard": ("mastercard",),
    "master card": ("mastercard",),
    "visa": ("visa",),
    "gift card": ("gift card",),
}

# A shipping method as customers name it -> the words of the method's label it fits ("Express (1-2 business days)").
SHIPPING_WORDS: dict[str, tuple[str, ...]] = {
    "express": ("express",),
    "expedited": ("express",),
    "next day": ("express",),
    "overnight": ("express",),
    "standard shipping": ("standard",),
    "standard delivery": ("standard",),
}

# A catalogue category -> words that name the whole category.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "apparel": ("clothes", "clothing", "apparel", "garment", "outfit"),
    "footwear": ("shoes", "footwear", "sneakers", "trainers", "boots", "kicks"),
    "home": ("homeware", "home decor", "decor", "home stuff"),
    "kitchen": ("kitchen", "kitchenware", "cookware", "kitchen stuff"),
    "outdoors": ("outdoor gear", "camping gear", "hiking gear", "camping stuff", "outdoor stuff"),
    "accessories": ("accessory", "accessories"),
}

# A material, as care instructions name it -> the words product names and customers use for it ("merino socks"
# are washed as wool).
MATERIAL_WORDS: dict[str, tuple[str, ...]] = {
    "wool": ("merino", "cashmere", "lambswool", "alpaca", "woollen", "woolen"),
    "leather": ("suede", "nubuck"),
    "linen": ("flax",),
    "cotton": ("denim", "jersey", "flannel"),
    "ceramics": ("stoneware", "porcelain", "ceramic", "earthenware"),
}

# Size words -> the size token used in variant names.
SIZE_WORDS: dict[str, str] = {
    "extra small": "XS",
    "xs": "XS",
    "small": "S",
    "medium": "M",
    "large": "L",
    "extra large": "XL",
    "xl": "XL",
    "xxl": "XXL",
}

# Words that describe which of an item is meant, not what is asked about it: "the green bag", "my size 8s", "the big
# one". A message of these and its item only points at it (`routing.customer_items.points_at_own_order`).
# Colour words a customer names a variant by ("the navy one", "swap it for the moss"): one list for the readers of
# exchanges and of items described.
COLOUR_WORDS = frozenset(
    {
        *("black", "white", "navy", "blue", "red", "green", "yellow", "grey", "gray", "pink", "purple", "orange"),
        *("brown", "beige", "cream", "olive", "charcoal", "ink", "sand", "khaki", "tan", "teal", "moss", "clay"),
    }
)

DESCRIBING_WORDS = frozenset(
    {
        *(w for phrase in SIZE_WORDS for w in phrase.split()),
        *("size", "sized", "big", "little", "new", "old", "light", "dark", "pale", "bright"),
        *COLOUR_WORDS,
    }
)

# Words never matched against product vocabulary (they appear in every support message).
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "my",
        "me",
        "i",
        "im",
        "i'm",
        "you",
        "your",
        "we",
        "our",
        "it",
        "its",
        "it's",
        "this",
        "that",
        "these",
        "those",
        "one",
        "ones",
        "and",
        "or",
        "but",
        "with",
        "from",
        "for",
        "to",
        "of",
        "in",
        "on",
        "at",
        "by",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "not",
        "no",
        "yes",
        "please",
        "pls",
        "thanks",
        "thank",
        "hi",
        "hello",
        "hey",
        "order",
        "orders",
        "ordered",
        "item",
        "items",
        "thing",
        "things",
        "stuff",
        "product",
        "products",
        "purchase",
        "purchased",
        "bought",
        "buy",
        "got",
        "get",
        "return",
        "returned",
        "returning",
        "refund",
        "refunded",
        "send",
        "sent",
        "back",
        "want",
        "wanted",
        "need",
        "would",
        "like",
        "can",
        "could",
        "will",
        "shall",
        "should",
        "where",
        "when",
        "what",
        "which",
        "who",
        "why",
        "how",
        "status",
        "still",
        "yet",
        "just",
        "about",
        "last",
        "first",
        "second",
        "third",
        "other",
        "another",
        "new",
        "old",
        "week",
        "weeks",
        "day",
        "days",
        "month",
        "months",
        "ago",
        "yesterday",
        "today",
        "tomorrow",
        "since",
        "time",
        "arrived",
        "arrive",
        "came",
        "come",
        "delivered",
        "delivery",
        "deliver",
        "shipped",
        "ship",
        "shipping",
        "package",
        "parcel",
        "box",
        "money",
        "cancel",
        "change",
        "address",
        "invoice",
        "receipt",
    ]
)

# Product nouns that are also everyday words ("my card expires", "on top of that"): never enough, alone, to say
# the customer named a product they did not buy.
EVERYDAY_NOUNS = frozenset(
    [
        "card",
        "top",
        "light",
        "band",
        "plug",
        "storage",
        "pot",
        "coffee",
        "shell",
        "glasses",
        "board",
        "pack",
        "press",
        "chair",
        "bag",
        "cap",
        "hat",
        "band",
        "adapter",
        "sack",
        "shirt",
        "purse",
        # Billing words one letter from a product ("charge" and the charger): what was paid, never what was bought.
        "charge",
        "charges",
        "charged",
        "credit",
    ]
)

# Words of support requests and of how customers speak: they say what is asked, never what was bought (the meaning
# matcher leaves them out; a variant's colour word among them, "Grey Check", is not read as its colour).
REQUEST_WORDS = frozenset(
    (
        *("tracking", "track", "refund", "charge", "charged", "payment", "paid", "pay", "card", "bill", "invoice"),
        *("label", "courier", "pickup", "warehouse", "statement", "hold", "exchange", "swap", "fix", "update"),
        *("placed", "moving", "moved", "received", "happened", "going", "coming", "help", "check", "sure", "really"),
        *("anything", "something", "everything", "some", "all", "any", "few", "bit", "lot", "much", "many", "more"),
        *("recently", "ever", "earlier", "later", "soon", "asap", "now", "then", "again", "yet", "already", "too"),
        *("weekend", "morning", "afternoon", "evening", "tonight", "year", "ten", "two", "three", "four", "couple"),
        *("wrong", "broken", "damaged", "cracked", "leaking", "leaks", "worn", "fit", "fits", "big", "small"),
        *("cheap", "cheapest", "expensive", "biggest", "smallest", "whole", "part", "rest", "left", "set"),
        *("hasnt", "hasn't", "havent", "haven't", "didnt", "didn't", "dont", "don't", "isnt", "isn't", "wont", "won't"),
        *("ok", "okay", "hey", "hiya", "hola", "sorry", "guys", "kind", "think", "know", "said", "says", "say", "see"),
        *("tell", "let", "make", "made", "keep", "kept", "take", "took", "give", "gave", "going", "went", "try"),
        *("pending", "processing", "cancelled", "canceled", "delivered", "shipped", "arrived", "return", "returns"),
        *("window", "days", "policy", "email", "account", "number", "total", "price", "dollars", "bucks", "amount"),
        *("there", "here", "if", "so", "as", "up", "out", "off", "over", "under", "than", "only", "also", "very"),
    )
)
