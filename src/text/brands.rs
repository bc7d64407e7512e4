//! Brands other than the registered marks: a misspelling of a mark that is itself the
//! name of a real brand is that brand, not the mark.
//!
//! A fuzzy hit is one or two edits from a mark; so are the names of many real
//! companies ("Metra" and "Metro", "Alera" and "Altra", "Joby" and "Coby"). What tells
//! a disguise from another brand is not in the word but in what is known about it:
//!
//! * **a general list of brand names**: the titles and aliases of the npm package
//!   `simple-icons` (about 3,600 names, CC0; `data/brands/`, rebuilt by
//!   `scripts/make-brands.sh`);
//! * **the registry's own marks**: a title word that is exactly another registered
//!   mark is that mark (the matcher already reports it as such);
//! * **the listing's declared brand** (schema.org `brand`): a shop that declares
//!   "Metra" and writes "Metra" in the title is selling Metra, unless the declared
//!   brand is itself a registered mark (then the declaration is evidence for it);
//! * **names a deployment learns**, such as findings reviewers dismissed as "another
//!   brand", handed to [`KnownBrands::with_names`].
//!
//! Only misspellings are refused this way. An exact mention, a look-alike (Cyrillic
//! letters, leetspeak, separators) and an alias still count whatever the lexicon
//! says: a counterfeiter gains nothing by spelling a mark as another real brand
//! unless buyers read it as the mark, and look-alikes are read as the mark. A name
//! that is exactly a registered mark is never treated as another brand, so bundling
//! a list cannot hide a mark from itself.
//!
//! Keys are the matcher's fuzzy keys (folded, leetspeak undone, no look-alike merges)
//! of the whole name with its word breaks removed; names shorter than four characters
//! are left out, since the matcher never reads a three-character word as a
//! misspelling anyway.

use std::io::Read;
use std::sync::LazyLock;

use rustc_hash::FxHashSet;

use super::lexicon::is_dictionary_word;
use super::normalize::fold;

static SIMPLE_ICONS_GZ: &[u8] = include_bytes!("../../data/brands/simple-icons.txt.gz");

/// The bundled list's keys, decoded once.
static BUNDLED: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut text = String::new();
    // The list is bundled and checked by a test; a failure here is a build defect.
    flate2::read::GzDecoder::new(SIMPLE_ICONS_GZ)
        .read_to_string(&mut text)
        .expect("the bundled brand list is valid gzip UTF-8");
    let mut keys: Vec<String> = text.lines().flat_map(brand_keys).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
});

/// The fuzzy key of a brand name with its word breaks removed, when it has four
/// characters or more and is written in letters and digits (not CJK).
pub fn brand_key(name: &str) -> Option<String> {
    let f = fold(name);
    if f.tokens
        .iter()
        .any(|t| t.kind == super::normalize::TokenKind::Cjk)
    {
        return None;
    }
    (f.fkey.chars().count() >= 4).then_some(f.fkey)
}

/// The keys a brand name is known by: [`brand_key`] of the whole name, and of the
/// name without the ordinary words that end it, down to two words ("Palo Alto" of
/// "Palo Alto Software", "Altec Lansing" of "Altec Lansing Technologies"): titles
/// write a company's name without the trade it is in. Never shorter than two
/// words: one remaining word ("Apple" of "Apple Music") is too often a mark of its
/// own or an ordinary word.
pub fn brand_keys(name: &str) -> impl Iterator<Item = String> {
    let whole = brand_key(name);
    let f = fold(name);
    let mut words = f.tokens.len();
    while words > 2 && is_dictionary_word(f.plain_of(words - 1)) {
        words -= 1;
    }
    let core = (words < f.tokens.len() && whole.is_some())
        .then(|| (0..words).map(|i| f.fkey_of(i)).collect::<String>())
        .filter(|k| k.chars().count() >= 4);
    whole.into_iter().chain(core)
}

/// A set of brand names known not to be the registered marks.
#[derive(Debug, Clone, Default)]
pub struct KnownBrands {
    keys: FxHashSet<String>,
}

impl KnownBrands {
    /// No known brand.
    pub fn empty() -> KnownBrands {
        KnownBrands::default()
    }

    /// The bundled list (simple-icons' titles and aliases).
    pub fn bundled() -> KnownBrands {
        KnownBrands {
            keys: BUNDLED.iter().cloned().collect(),
        }
    }

    /// These brands and `names` as well (brands learnt from review, a deployment's
    /// own list).
    pub fn with_names<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> KnownBrands {
        self.keys.extend(names.into_iter().flat_map(brand_keys));
        self
    }

    /// Removes `keys` (the registered marks' own keys: a mark is never another
    /// brand of itself).
    pub fn without<'a>(mut self, keys: impl IntoIterator<Item = &'a str>) -> KnownBrands {
        for k in keys {
            self.keys.remove(k);
        }
        self
    }

    /// True when `fkey` (a fuzzy key, word breaks removed) is a known brand.
    pub fn contains(&self, fkey: &str) -> bool {
        self.keys.contains(fkey)
    }

    /// Number of known brand keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when no brand is known.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_list_is_loaded_and_folded() {
        let k = KnownBrands::bundled();
        assert!(k.len() > 3000, "{}", k.len());
        // Names as simple-icons writes them, folded like title words.
        for name in ["Sony", "Dell", "Razer", "Alienware"] {
            assert!(k.contains(&brand_key(name).unwrap()), "{name}");
        }
        assert!(!k.contains("adidaas"));
    }

    #[test]
    fn short_and_cjk_names_are_left_out() {
        assert_eq!(brand_key("3M"), None);
        assert_eq!(brand_key("爱发电"), None);
        assert_eq!(brand_key("Deep Lake").as_deref(), Some("deeplake"));
    }

    #[test]
    fn a_name_is_known_without_the_trade_that_ends_it() {
        let keys: Vec<String> = brand_keys("Palo Alto Software").collect();
        assert_eq!(keys, ["paloaltosoftware", "paloalto"]);
        // Two words stay two words; a coined last word stays.
        assert_eq!(
            brand_keys("Apple Music").collect::<Vec<_>>(),
            ["applemusic"]
        );
        assert_eq!(brand_keys("Deep Lake").count(), 1);
        assert_eq!(brand_keys("Palo Alto Zentrix").count(), 1);
        let k = KnownBrands::bundled();
        assert!(k.contains("paloalto"));
    }

    #[test]
    fn learnt_names_are_added_and_registered_keys_removed() {
        let k = KnownBrands::empty().with_names(["Metra", "Alera Home"]);
        assert!(k.contains("metra") && k.contains("alerahome"));
        let k = k.without(["metra"]);
        assert!(!k.contains("metra"));
    }
}
