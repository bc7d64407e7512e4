//! Which Nice classes a listing's product belongs to, read from its category,
//! breadcrumbs and title.
//!
//! A trademark is registered for classes of goods and services (the Nice
//! classification, WIPO, 12th edition). A misspelling of a mark on a product of a
//! class the mark is not registered for is another name as often as a disguise
//! ("Dovee" soap is not a misspelt Dove if Dove were registered for cars only), and a
//! mark that is an ordinary word ("Case", "Shell") is the word unless the product is
//! one the mark covers.
//!
//! The table below gives, for each class of goods (1–34), the product nouns of its
//! class heading and of the explanatory note's main entries, in the singular, written
//! from the public class headings; service classes (35–45) are left out because
//! listings sell goods. A listing's words (lower-cased, folded, a plural "s" or "es"
//! removed) are looked up; every class a word names is a class of the listing. A
//! word that names several classes ("bag": 18 and 22) counts for all of them. No
//! class is inferred when no word is known: context that is missing neither agrees
//! nor disagrees.

use rustc_hash::FxHashMap;
use std::sync::LazyLock;

use super::normalize::fold;

/// Product nouns of the Nice classes of goods (class number, nouns).
pub const NICE_GOODS: &[(u8, &[&str])] = &[
    (
        1,
        &[
            "chemical",
            "fertilizer",
            "adhesive",
            "resin",
            "compost",
            "soil",
        ],
    ),
    (
        2,
        &[
            "paint",
            "varnish",
            "lacquer",
            "dye",
            "ink",
            "toner",
            "cartridge",
            "primer",
            "stain",
        ],
    ),
    (
        3,
        &[
            "cosmetic",
            "perfume",
            "fragrance",
            "soap",
            "shampoo",
            "toothpaste",
            "lotion",
            "lipstick",
            "mascara",
            "deodorant",
            "detergent",
            "polish",
            "cologne",
            "makeup",
        ],
    ),
    (
        4,
        &[
            "oil",
            "grease",
            "lubricant",
            "fuel",
            "candle",
            "wax",
            "gasoline",
        ],
    ),
    (
        5,
        &[
            "pharmaceutical",
            "medicine",
            "vitamin",
            "supplement",
            "bandage",
            "diaper",
            "disinfectant",
            "capsule",
            "tablet",
        ],
    ),
    (
        6,
        &[
            "metal", "lock", "key", "hardware", "nail", "screw", "bolt", "safe", "chain", "hinge",
        ],
    ),
    (
        7,
        &[
            "machine",
            "motor",
            "engine",
            "drill",
            "mixer",
            "blender",
            "vacuum",
            "dishwasher",
            "washer",
            "generator",
            "pump",
            "compressor",
        ],
    ),
    (
        8,
        &[
            "knife",
            "tool",
            "razor",
            "scissors",
            "cutlery",
            "fork",
            "spoon",
            "hammer",
            "wrench",
            "screwdriver",
            "plier",
            "shaver",
        ],
    ),
    (
        9,
        &[
            "computer",
            "laptop",
            "software",
            "phone",
            "smartphone",
            "camera",
            "lens",
            "headphone",
            "earphone",
            "headset",
            "speaker",
            "monitor",
            "printer",
            "cable",
            "charger",
            "battery",
            "adapter",
            "router",
            "television",
            "tv",
            "keyboard",
            "mouse",
            "drive",
            "memory",
            "microphone",
            "projector",
            "glasses",
            "sunglasses",
            "eyeglasses",
            "game",
            "dvd",
            "disc",
            "receiver",
            "amplifier",
            "tablet",
            "modem",
            "antenna",
            "scanner",
            "case",
            "calculator",
            "electronic",
            "electronics",
            "helmet",
        ],
    ),
    (
        10,
        &[
            "medical",
            "surgical",
            "dental",
            "thermometer",
            "stethoscope",
            "massager",
            "condom",
        ],
    ),
    (
        11,
        &[
            "lamp",
            "light",
            "lighting",
            "bulb",
            "heater",
            "stove",
            "oven",
            "refrigerator",
            "fridge",
            "freezer",
            "fan",
            "air conditioner",
            "faucet",
            "shower",
            "toilet",
            "grill",
            "kettle",
            "toaster",
            "humidifier",
            "purifier",
            "flashlight",
        ],
    ),
    (
        12,
        &[
            "car",
            "vehicle",
            "bicycle",
            "bike",
            "tire",
            "tyre",
            "wheel",
            "motorcycle",
            "stroller",
            "scooter",
            "boat",
            "automotive",
        ],
    ),
    (
        13,
        &["firearm", "gun", "ammunition", "firework", "explosive"],
    ),
    (
        14,
        &[
            "jewellery",
            "jewelry",
            "watch",
            "clock",
            "ring",
            "necklace",
            "bracelet",
            "earring",
            "pendant",
            "gemstone",
            "diamond",
            "brooch",
            "cufflink",
        ],
    ),
    (
        15,
        &[
            "guitar",
            "piano",
            "violin",
            "drum",
            "instrument",
            "keyboard",
            "flute",
            "ukulele",
        ],
    ),
    (
        16,
        &[
            "paper",
            "cardboard",
            "book",
            "notebook",
            "pen",
            "pencil",
            "stationery",
            "envelope",
            "label",
            "poster",
            "calendar",
            "marker",
        ],
    ),
    (
        17,
        &["rubber", "plastic", "insulation", "hose", "gasket", "foam"],
    ),
    (
        18,
        &[
            "leather",
            "case",
            "bag",
            "handbag",
            "wallet",
            "purse",
            "luggage",
            "suitcase",
            "backpack",
            "umbrella",
            "briefcase",
            "tote",
            "saddle",
        ],
    ),
    (
        19,
        &[
            "brick", "cement", "concrete", "tile", "timber", "lumber", "glass", "stone",
        ],
    ),
    (
        20,
        &[
            "furniture",
            "chair",
            "table",
            "desk",
            "sofa",
            "bed",
            "mattress",
            "pillow",
            "mirror",
            "shelf",
            "cabinet",
            "cushion",
            "frame",
        ],
    ),
    (
        21,
        &[
            "kitchenware",
            "cookware",
            "pan",
            "pot",
            "cup",
            "mug",
            "glassware",
            "bottle",
            "brush",
            "comb",
            "dish",
            "plate",
            "bowl",
            "container",
            "toothbrush",
            "vase",
        ],
    ),
    (
        22,
        &[
            "rope",
            "net",
            "tent",
            "tarpaulin",
            "sack",
            "bag",
            "string",
            "twine",
        ],
    ),
    (23, &["yarn", "thread"]),
    (
        24,
        &[
            "fabric", "textile", "towel", "blanket", "bedding", "sheet", "curtain", "duvet",
            "quilt", "linen",
        ],
    ),
    (
        25,
        &[
            "clothing",
            "apparel",
            "shoe",
            "sneaker",
            "boot",
            "sandal",
            "footwear",
            "shirt",
            "t-shirt",
            "tshirt",
            "dress",
            "jacket",
            "coat",
            "jeans",
            "pants",
            "trousers",
            "sock",
            "hat",
            "cap",
            "scarf",
            "glove",
            "sweater",
            "hoodie",
            "skirt",
            "underwear",
            "legging",
            "shorts",
            "belt",
            "slipper",
        ],
    ),
    (
        26,
        &[
            "lace",
            "ribbon",
            "button",
            "zipper",
            "wig",
            "hairpin",
            "embroidery",
        ],
    ),
    (27, &["carpet", "rug", "mat", "wallpaper", "flooring"]),
    (
        28,
        &[
            "toy",
            "doll",
            "puzzle",
            "ball",
            "racket",
            "golf",
            "fishing",
            "skateboard",
            "ski",
            "sporting",
            "fitness",
            "gym",
            "console",
            "lego",
        ],
    ),
    (
        29,
        &[
            "meat", "fish", "cheese", "milk", "yogurt", "butter", "egg", "jam", "oil",
        ],
    ),
    (
        30,
        &[
            "coffee",
            "tea",
            "chocolate",
            "sugar",
            "rice",
            "flour",
            "bread",
            "pasta",
            "candy",
            "cereal",
            "sauce",
            "spice",
            "honey",
        ],
    ),
    (
        31,
        &[
            "fruit",
            "vegetable",
            "seed",
            "plant",
            "flower",
            "pet food",
            "grain",
        ],
    ),
    (32, &["beer", "water", "juice", "soda", "drink", "beverage"]),
    (
        33,
        &[
            "wine", "whisky", "whiskey", "vodka", "liquor", "spirit", "rum", "gin",
        ],
    ),
    (
        34,
        &[
            "tobacco",
            "cigarette",
            "cigar",
            "lighter",
            "vape",
            "e-cigarette",
        ],
    ),
];

/// Folded product word to the classes it names.
static INDEX: LazyLock<FxHashMap<String, Vec<u8>>> = LazyLock::new(|| {
    let mut map: FxHashMap<String, Vec<u8>> = FxHashMap::default();
    for &(class, nouns) in NICE_GOODS {
        for noun in nouns {
            let key = fold(noun).plain;
            let v = map.entry(key).or_default();
            if !v.contains(&class) {
                v.push(class);
            }
        }
    }
    map
});

/// The Nice classes of goods the words of `texts` (category, breadcrumbs, title)
/// name, sorted and without duplicates.
pub fn classes_of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let mut out = Vec::new();
    for text in texts {
        let f = fold(text);
        let n = f.tokens.len();
        for i in 0..n {
            let word = f.plain_of(i);
            // The word, two words as one ("air conditioner", "pet food"), the
            // singular of a plural.
            let mut candidates = vec![word.to_string()];
            if i + 1 < n {
                candidates.push(format!("{word}{}", f.plain_of(i + 1)));
            }
            if let Some(s) = word.strip_suffix("es") {
                candidates.push(s.to_string());
            }
            if let Some(s) = word.strip_suffix('s') {
                candidates.push(s.to_string());
            }
            for c in candidates {
                if let Some(classes) = INDEX.get(&c) {
                    out.extend(classes.iter().copied());
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// How a listing's product classes stand to a mark's classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassFit {
    /// The listing sells goods of a class the mark is registered for.
    Agrees,
    /// The listing's goods are known and none is of the mark's classes.
    Disagrees,
    /// The mark has no classes, or the listing's goods are not known.
    Unknown,
}

/// [`ClassFit`] of a listing's classes (from [`classes_of`]) against a mark's.
pub fn fit(listing: &[u8], mark: &[u8]) -> ClassFit {
    if listing.is_empty() || mark.is_empty() {
        ClassFit::Unknown
    } else if listing.iter().any(|c| mark.contains(c)) {
        ClassFit::Agrees
    } else {
        ClassFit::Disagrees
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_words_name_their_classes() {
        assert_eq!(classes_of(["Running Shoes"]), [25]);
        assert_eq!(classes_of(["Jewelry > Watches", "steel watch"]), [14]);
        assert_eq!(classes_of(["split air conditioner"]), [11]);
        assert_eq!(classes_of(["leather bag"]), [18, 22]);
        assert!(classes_of(["Zentrix 3000"]).is_empty());
    }

    #[test]
    fn fit_needs_both_sides() {
        assert_eq!(fit(&[25], &[25, 18]), ClassFit::Agrees);
        assert_eq!(fit(&[9], &[25]), ClassFit::Disagrees);
        assert_eq!(fit(&[], &[25]), ClassFit::Unknown);
        assert_eq!(fit(&[9], &[]), ClassFit::Unknown);
    }

    #[test]
    fn every_class_of_goods_has_words() {
        let classes: Vec<u8> = NICE_GOODS.iter().map(|(c, _)| *c).collect();
        assert_eq!(classes, (1..=34).collect::<Vec<u8>>());
        assert!(NICE_GOODS.iter().all(|(_, w)| !w.is_empty()));
    }
}
