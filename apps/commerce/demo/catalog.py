"""The demo shop's catalogue and the word lists customers are drawn from. Plain data, no randomness."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogProduct:
    sku: str
    name: str
    category: str
    price: str
    variants: tuple[str, ...]
    final_sale: bool = False
    description: str = ""


SIZES = ("S", "M", "L", "XL")
SHOE_SIZES = ("US 7", "US 8", "US 9", "US 10", "US 11")
ONE = ("One size",)


def _colours(*names: str) -> tuple[str, ...]:
    return names


def _sized(colours: tuple[str, ...], sizes: tuple[str, ...] = SIZES) -> tuple[str, ...]:
    return tuple(f"{s} / {c}" for c in colours for s in sizes)


CATALOG: tuple[CatalogProduct, ...] = (
    # apparel
    CatalogProduct(
        "APP-001",
        "Harbor Crew T-Shirt",
        "apparel",
        "24.00",
        _sized(("Navy", "White")),
        description="Heavyweight organic cotton tee with a relaxed fit.",
    ),
    CatalogProduct(
        "APP-002",
        "Harbor Hoodie",
        "apparel",
        "68.00",
        _sized(("Navy", "Heather Grey")),
        description="Brushed-back fleece hoodie with a lined hood.",
    ),
    CatalogProduct(
        "APP-003",
        "Tidewater Rain Jacket",
        "apparel",
        "129.00",
        _sized(("Yellow", "Black")),
        description="Waterproof, breathable shell with taped seams.",
    ),
    CatalogProduct(
        "APP-004",
        "Merino Crew Socks (3-pack)",
        "apparel",
        "26.00",
        ("S/M", "L/XL"),
        description="Mid-weight merino wool socks.",
    ),
    CatalogProduct(
        "APP-005",
        "Dockside Chinos",
        "apparel",
        "79.00",
        _sized(("Khaki", "Olive")),
        description="Stretch cotton chinos with a tapered leg.",
    ),
    CatalogProduct(
        "APP-006",
        "Fisherman Knit Sweater",
        "apparel",
        "98.00",
        _sized(("Cream",)),
        description="Chunky wool-blend cable knit.",
    ),
    CatalogProduct(
        "APP-007",
        "Linen Button-Down Shirt",
        "apparel",
        "58.00",
        _sized(("Sky", "Sand")),
        description="Garment-washed linen shirt.",
    ),
    CatalogProduct(
        "APP-008",
        "Coastal Beanie",
        "apparel",
        "22.00",
        _colours("Rust", "Charcoal"),
        description="Ribbed recycled-wool beanie.",
    ),
    CatalogProduct(
        "APP-009",
        "Sample Sale Denim Jacket",
        "apparel",
        "45.00",
        _sized(("Indigo",)),
        final_sale=True,
        description="Sample-sale denim jacket. Final sale: cannot be returned or exchanged.",
    ),
    CatalogProduct(
        "APP-010",
        "Swim Shorts",
        "apparel",
        "42.00",
        _sized(("Coral", "Teal")),
        description="Quick-dry swim shorts with a mesh liner.",
    ),
    CatalogProduct(
        "APP-011",
        "Clearance Polo Shirt",
        "apparel",
        "19.00",
        _sized(("White", "Green")),
        final_sale=True,
        description="Clearance pique polo. Final sale.",
    ),
    CatalogProduct(
        "APP-012",
        "Puffer Vest",
        "apparel",
        "89.00",
        _sized(("Black", "Forest")),
        description="Lightweight recycled-fill puffer vest.",
    ),
    # footwear
    CatalogProduct(
        "FTW-001",
        "Deck Shoes",
        "footwear",
        "95.00",
        SHOE_SIZES,
        description="Leather deck shoes with non-marking soles.",
    ),
    CatalogProduct(
        "FTW-002", "Trail Runners", "footwear", "135.00", SHOE_SIZES, description="Grippy trail running shoes."
    ),
    CatalogProduct(
        "FTW-003", "Canvas Sneakers", "footwear", "55.00", SHOE_SIZES, description="Vulcanised canvas sneakers."
    ),
    CatalogProduct(
        "FTW-004", "Shearling Slippers", "footwear", "65.00", SHOE_SIZES, description="Sheepskin-lined indoor slippers."
    ),
    CatalogProduct("FTW-005", "Rain Boots", "footwear", "85.00", SHOE_SIZES, description="Natural rubber rain boots."),
    # home
    CatalogProduct(
        "HOM-001",
        "Stoneware Mug",
        "home",
        "18.00",
        _colours("Sea Glass", "Sand", "Ink"),
        description="12 oz handmade stoneware mug.",
    ),
    CatalogProduct(
        "HOM-002",
        "Wool Throw Blanket",
        "home",
        "120.00",
        _colours("Grey Check", "Blue Stripe"),
        description="Lambswool throw, 130 x 180 cm.",
    ),
    CatalogProduct("HOM-003", "Sea Salt Candle", "home", "32.00", ONE, description="Soy wax candle, 50-hour burn."),
    CatalogProduct(
        "HOM-004",
        "Linen Bedding Set",
        "home",
        "210.00",
        ("Queen / White", "King / White", "Queen / Clay"),
        description="Stone-washed linen duvet cover and pillowcases.",
    ),
    CatalogProduct(
        "HOM-005",
        "Cotton Bath Towels (set of 2)",
        "home",
        "48.00",
        _colours("White", "Stone"),
        description="Turkish cotton towels.",
    ),
    CatalogProduct(
        "HOM-006", "Driftwood Picture Frame", "home", "29.00", ("5x7", "8x10"), description="Reclaimed wood frame."
    ),
    CatalogProduct(
        "HOM-007",
        "Floor Cushion",
        "home",
        "75.00",
        _colours("Indigo", "Rust"),
        description="Large canvas floor cushion.",
    ),
    CatalogProduct(
        "HOM-008",
        "Ceramic Table Lamp",
        "home",
        "145.00",
        _colours(
            "Speckled White",
        ),
        description="Glazed ceramic lamp with linen shade.",
    ),
    CatalogProduct(
        "HOM-009",
        "Floor Model Armchair",
        "home",
        "399.00",
        ONE,
        final_sale=True,
        description="Ex-display armchair. Final sale.",
    ),
    CatalogProduct(
        "HOM-010",
        "Seagrass Storage Basket",
        "home",
        "38.00",
        ("Small", "Large"),
        description="Hand-woven seagrass basket.",
    ),
    # kitchen
    CatalogProduct(
        "KIT-001",
        "Cast Iron Skillet",
        "kitchen",
        "65.00",
        ("10 inch", "12 inch"),
        description="Pre-seasoned cast iron skillet.",
    ),
    CatalogProduct(
        "KIT-002", "Chef's Knife", "kitchen", "110.00", ("8 inch",), description="Forged stainless steel chef's knife."
    ),
    CatalogProduct(
        "KIT-003",
        "Espresso Machine",
        "kitchen",
        "649.00",
        _colours("Steel", "Matte Black"),
        description="Dual-boiler espresso machine.",
    ),
    CatalogProduct(
        "KIT-004",
        "French Press",
        "kitchen",
        "39.00",
        ("3 cup", "8 cup"),
        description="Borosilicate glass French press.",
    ),
    CatalogProduct(
        "KIT-005", "Olive Wood Cutting Board", "kitchen", "54.00", ONE, description="End-grain olive wood board."
    ),
    CatalogProduct(
        "KIT-006",
        "Enamel Dutch Oven",
        "kitchen",
        "189.00",
        _colours("Ocean", "Cream"),
        description="5.5 quart enamelled cast iron.",
    ),
    CatalogProduct(
        "KIT-007",
        "Linen Apron",
        "kitchen",
        "34.00",
        _colours("Natural", "Charcoal"),
        description="Cross-back linen apron.",
    ),
    CatalogProduct(
        "KIT-008",
        "Spice Sampler Box",
        "kitchen",
        "28.00",
        ONE,
        final_sale=True,
        description="Twelve small-batch spices. Food: final sale.",
    ),
    CatalogProduct(
        "KIT-009", "Pour-Over Kettle", "kitchen", "72.00", ONE, description="Gooseneck kettle with thermometer."
    ),
    # outdoors
    CatalogProduct(
        "OUT-001",
        "Insulated Water Bottle",
        "outdoors",
        "35.00",
        ("500 ml", "750 ml", "1 L"),
        description="Double-wall stainless bottle.",
    ),
    CatalogProduct(
        "OUT-002",
        "Day Pack 22L",
        "outdoors",
        "99.00",
        _colours("Moss", "Navy"),
        description="Water-resistant day pack.",
    ),
    CatalogProduct(
        "OUT-003", "Two-Person Tent", "outdoors", "549.00", ONE, description="Freestanding three-season tent."
    ),
    CatalogProduct(
        "OUT-004", "Camp Chair", "outdoors", "79.00", _colours("Sand", "Olive"), description="Packable camp chair."
    ),
    CatalogProduct(
        "OUT-005", "Picnic Blanket", "outdoors", "59.00", ONE, description="Water-resistant backed picnic blanket."
    ),
    CatalogProduct("OUT-006", "Headlamp", "outdoors", "45.00", ONE, description="Rechargeable 400-lumen headlamp."),
    CatalogProduct(
        "OUT-007", "Dry Bag 20L", "outdoors", "29.00", _colours("Yellow", "Blue"), description="Roll-top dry bag."
    ),
    CatalogProduct(
        "OUT-008", "Stand-Up Paddle Board", "outdoors", "799.00", ONE, description="Inflatable paddle board kit."
    ),
    # accessories and tech
    CatalogProduct(
        "ACC-001",
        "Canvas Tote Bag",
        "accessories",
        "28.00",
        _colours("Natural", "Navy"),
        description="Heavy canvas tote.",
    ),
    CatalogProduct(
        "ACC-002",
        "Leather Wallet",
        "accessories",
        "60.00",
        _colours("Tan", "Black"),
        description="Vegetable-tanned leather bifold.",
    ),
    CatalogProduct(
        "ACC-003",
        "Polarised Sunglasses",
        "accessories",
        "85.00",
        _colours("Tortoise", "Black"),
        description="Acetate frames, polarised lenses.",
    ),
    CatalogProduct(
        "ACC-004",
        "Wireless Earbuds",
        "accessories",
        "149.00",
        _colours("White", "Black"),
        description="Noise-cancelling earbuds.",
    ),
    CatalogProduct("ACC-005", "Phone Charger 30W", "accessories", "25.00", ONE, description="USB-C fast charger."),
    CatalogProduct(
        "ACC-006",
        "Engraved Keyring",
        "accessories",
        "15.00",
        ONE,
        final_sale=True,
        description="Personalised brass keyring. Personalised items are final sale.",
    ),
    CatalogProduct(
        "ACC-007", "Watch Strap", "accessories", "39.00", ("20 mm", "22 mm"), description="Nylon NATO strap."
    ),
    CatalogProduct(
        "ACC-008",
        "Gift Card",
        "accessories",
        "50.00",
        ("$25", "$50", "$100"),
        final_sale=True,
        description="Digital gift card. Gift cards are final sale.",
    ),
    CatalogProduct(
        "ACC-009",
        "Travel Umbrella",
        "accessories",
        "32.00",
        _colours("Black", "Yellow"),
        description="Compact windproof umbrella.",
    ),
    CatalogProduct(
        "ACC-010",
        "Reading Glasses",
        "accessories",
        "35.00",
        ("+1.0", "+1.5", "+2.0"),
        description="Lightweight readers.",
    ),
    CatalogProduct(
        "ACC-011", "Bamboo Sunhat", "accessories", "44.00", ("S/M", "L/XL"), description="Packable straw sunhat."
    ),
)

FIRST_NAMES = (
    "Aiden",
    "Amara",
    "Arjun",
    "Beatriz",
    "Benjamin",
    "Chloe",
    "Daniel",
    "Dmitri",
    "Elena",
    "Emeka",
    "Fatima",
    "Felix",
    "Grace",
    "Hannah",
    "Hiroshi",
    "Ines",
    "Isaac",
    "Jamal",
    "Jana",
    "Jonas",
    "Julia",
    "Kai",
    "Lara",
    "Leon",
    "Lucia",
    "Maya",
    "Mei",
    "Mohammed",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Samuel",
    "Sofia",
    "Tariq",
    "Tessa",
    "Theo",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
    "Yusuf",
    "Zoe",
)
LAST_NAMES = (
    "Adams",
    "Bauer",
    "Chen",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ivanova",
    "Jensen",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lopez",
    "Mensah",
    "Meyer",
    "Nakamura",
    "Novak",
    "O'Brien",
    "Patel",
    "Petrov",
    "Quinn",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Tanaka",
    "Walker",
    "Weber",
    "Yilmaz",
    "Zhang",
)
STREETS = (
    "Harbor Street",
    "Maple Avenue",
    "Ocean Drive",
    "Pine Road",
    "Elm Street",
    "Bayview Terrace",
    "Mill Lane",
    "Cedar Court",
    "Lighthouse Way",
    "Riverside Drive",
    "Station Road",
    "Orchard Close",
)
# (city, region, postal code prefix, country)
CITIES = (
    ("Portland", "ME", "041", "US"),
    ("Seattle", "WA", "981", "US"),
    ("Austin", "TX", "787", "US"),
    ("Chicago", "IL", "606", "US"),
    ("Brooklyn", "NY", "112", "US"),
    ("Denver", "CO", "802", "US"),
    ("San Diego", "CA", "921", "US"),
    ("Boston", "MA", "021", "US"),
    ("Savannah", "GA", "314", "US"),
    ("Toronto", "ON", "M5V", "CA"),
    ("Vancouver", "BC", "V6B", "CA"),
    ("London", "", "EC1", "GB"),
    ("Berlin", "", "101", "DE"),
    ("Lyon", "", "690", "FR"),
)
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
HUBS = {
    "US": ("Louisville, KY", "Memphis, TN", "Chicago, IL", "Dallas, TX"),
    "CA": ("Mississauga, ON", "Calgary, AB"),
    "GB": ("East Midlands, GB", "London Heathrow, GB"),
    "DE": ("Leipzig, DE", "Frankfurt, DE"),
    "FR": ("Paris CDG, FR", "Lyon, FR"),
}
CARD_BRANDS = ("Visa", "Mastercard", "Amex", "Discover")
FAILURE_CODES = (
    ("insufficient_funds", "Your card has insufficient funds."),
    ("expired_card", "Your card has expired."),
    ("card_declined", "Your card was declined."),
    ("incorrect_cvc", "Your card's security code is incorrect."),
    ("authentication_required", "The bank required authentication that was not completed."),
    ("processing_error", "An error occurred while processing your card."),
)
