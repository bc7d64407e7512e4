//! From evidence to ranked findings.
//!
//! For each mark a listing touches, the scorer gathers *signals* (the title mention,
//! the declared brand, code words, the price against the mark's floor, referential
//! phrasing, the seller's authorisation), each with a readable detail and a weight in
//! -1..1, and combines them into a score in 0..1:
//!
//! ```text
//! score = (1 - Π (1 - w) over positive weights) × Π (1 + w) over negative weights
//! ```
//!
//! Positive evidence combines like independent indications (two signals of 0.5 give
//! 0.75, never more than 1); negative evidence scales the result down (referential use
//! halves it, an authorised seller leaves a tenth). The result is deterministic,
//! rounded to three decimals, and every number that enters it is listed in the
//! finding. All weights and the suspect threshold are the constants below.

mod rates;

pub use rates::{Rates, RatesError};

use serde::{Deserialize, Serialize};

use crate::image::{ImageHit, RegionHit, RegionKind, MATCH_DISTANCE};
use crate::listing::Listing;
use crate::registry::Mark;
use crate::text::context::{CodeWord, Context, Referential};
use crate::text::lexicon::Strength;
use crate::text::nice::{self, ClassFit};
use crate::text::{
    fold, BrandCensus, ListingContext, MatchKind, Matcher, NoCensus, TermKind, TitleMatch,
};

/// Findings at or above this score are suspects: reports and the review queue show
/// them by default. Every title mention alone reaches it, except a mark that is an
/// ordinary word on goods of other classes; referential use or an authorised seller
/// take a plain mention below it.
pub const SUSPECT_THRESHOLD: f64 = 0.5;

/// The mark's name, written as registered: a use of the mark, most often by a
/// reseller, worth a reviewer's look but not proof.
pub const W_TITLE_EXACT: f64 = 0.6;
/// The mark's name as written when the name is also an ordinary word ("Case",
/// "Apple", "Shell"), or its inflection or misspelling (then the weight of the
/// misspelling if lower), on goods of none of the mark's Nice classes: the title
/// means the thing, not the brand, so the mention alone stays below the suspect
/// threshold; a declared brand, a code word, a low price or a photo lifts it.
pub const W_TITLE_ORDINARY_WORD: f64 = 0.3;
/// The same when the goods are not known (the mark has no classes, or no word of the
/// listing names goods): at the suspect threshold, below a coined name's
/// [`W_TITLE_EXACT`]. Requiring agreeing goods instead left 22 % (Walmart-Amazon)
/// and 60 % (Amazon-Google: Adobe, Apple) of exact mentions below the threshold in
/// the evaluation, whose registry has no classes (EVALUATION.md, "Calibration").
/// On goods of the mark's classes the mention weighs [`W_TITLE_EXACT`].
pub const W_TITLE_ORDINARY_WORD_UNKNOWN: f64 = 0.5;
/// A registered alias (another script, a short form) or its pinyin, as written.
pub const W_TITLE_ALIAS: f64 = 0.6;
/// The mark disguised: look-alike letters, leetspeak, full-width forms, invisible
/// characters or separators inside the word. Disguise shows intent.
pub const W_TITLE_CONFUSABLE: f64 = 0.8;
/// Lowest weight of a misspelling (similarity 0.75); rises linearly to
/// [`W_TITLE_FUZZY_MAX`] at similarity 1. A misspelling within the length-aware edit
/// bound is as likely a disguise as a typo.
pub const W_TITLE_FUZZY_MIN: f64 = 0.5;
/// Highest weight of a misspelling.
pub const W_TITLE_FUZZY_MAX: f64 = 0.75;
/// The page declares the mark as its brand, and the title names it too.
pub const W_BRAND_DECLARED: f64 = 0.3;
/// The page declares the mark as its brand, and the title does not name it.
pub const W_BRAND_ONLY: f64 = 0.6;
/// A code word that says "not genuine" (replica, 1:1, 高仿).
pub const W_KEYWORD_STRONG: f64 = 0.5;
/// A code word that says "imitation" (inspired by, dupe, 同款).
pub const W_KEYWORD_WEAK: f64 = 0.25;
/// Price below the floor: weight at a price just under the floor...
pub const W_PRICE_MIN: f64 = 0.2;
/// ... rising linearly to this at a price of zero.
pub const W_PRICE_MAX: f64 = 0.6;
/// Referential use ("case for", "compatible with", 适用于) halves the score.
pub const W_REFERENTIAL: f64 = -0.5;
/// A seller the rights owner authorised leaves a tenth of the score.
pub const W_AUTHORIZED_SELLER: f64 = -0.9;
/// A listing photo identical (distance 0) to a reference image of the mark: the
/// brand's own photo, which a reseller of genuine goods may use but a counterfeiter
/// nearly always does. Falls linearly to [`W_IMAGE_MIN`] at
/// [`MATCH_DISTANCE`](crate::image::MATCH_DISTANCE); either end makes a finding on
/// its own.
pub const W_IMAGE_MAX: f64 = 0.9;
/// Weight of a photo at PDQ's match distance (31 bits) from a reference image.
pub const W_IMAGE_MIN: f64 = 0.55;
/// A registered logo, or a part of a registered product photo, found inside a
/// listing photo with the fewest inliers the geometric check accepts
/// ([`MIN_INLIERS`](crate::image::logo::MIN_INLIERS)): the brand's mark is shown, by
/// a reseller of genuine goods or by a counterfeiter, which makes a finding on its
/// own. Rises linearly to [`W_REGION_MAX`] at four times as many inliers.
pub const W_REGION_MIN: f64 = 0.6;
/// Weight of a logo or photo part found with many inliers.
pub const W_REGION_MAX: f64 = 0.85;
/// A mark's name read in a listing photo (OCR): weighed as the same words in the
/// title would be ([`W_TITLE_EXACT`], a misspelling's weight, an ordinary word's),
/// except that look-alike letters read by the OCR are its misreading, not a
/// disguise: a confusable reading weighs [`W_TITLE_EXACT`], not
/// [`W_TITLE_CONFUSABLE`].
pub const W_PHOTO_TEXT_CONFUSABLE: f64 = W_TITLE_EXACT;

/// What a signal says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// The mark's name as registered.
    TitleExact,
    /// A misspelling of the mark.
    TitleFuzzy,
    /// A disguised spelling of the mark.
    TitleConfusable,
    /// An alias or its pinyin.
    TitleAlias,
    /// The page's declared brand is the mark.
    BrandDeclared,
    /// A photo matches a reference image of the mark.
    ImageMatch,
    /// A registered logo of the mark appears inside a photo.
    LogoMatch,
    /// A part of a registered product photo of the mark appears in a photo (a
    /// crop of it, or the photo placed inside a larger picture).
    PhotoPart,
    /// The mark's name is written in a photo (read by OCR).
    PhotoText,
    /// The price is below the mark's floor.
    PriceAnomaly,
    /// A counterfeit code word.
    Keyword,
    /// Referential (nominative) use.
    ReferentialUse,
    /// The seller is authorised by the rights owner.
    AuthorizedSeller,
}

impl SignalKind {
    /// The kind's name in JSON and CSV (`title_exact`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::TitleExact => "title_exact",
            SignalKind::TitleFuzzy => "title_fuzzy",
            SignalKind::TitleConfusable => "title_confusable",
            SignalKind::TitleAlias => "title_alias",
            SignalKind::BrandDeclared => "brand_declared",
            SignalKind::ImageMatch => "image_match",
            SignalKind::LogoMatch => "logo_match",
            SignalKind::PhotoPart => "photo_part",
            SignalKind::PhotoText => "photo_text",
            SignalKind::PriceAnomaly => "price_anomaly",
            SignalKind::Keyword => "keyword",
            SignalKind::ReferentialUse => "referential_use",
            SignalKind::AuthorizedSeller => "authorized_seller",
        }
    }

    /// Whether the evidence is a listing photo (a whole copy, a logo in it, a part
    /// of a registered photo).
    pub fn is_photo(self) -> bool {
        matches!(
            self,
            SignalKind::ImageMatch
                | SignalKind::LogoMatch
                | SignalKind::PhotoPart
                | SignalKind::PhotoText
        )
    }
}

/// One piece of evidence for a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// What the evidence is.
    pub kind: SignalKind,
    /// A sentence a reviewer can read.
    pub detail: String,
    /// Its weight in -1..1.
    pub weight: f64,
    /// For an `image_match`: which photo matched which reference image, and how
    /// closely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<PhotoEvidence>,
    /// For a `logo_match` or `photo_part`: which photo showed which reference
    /// image, where, and how many correspondences agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<RegionEvidence>,
    /// For a `photo_text`: which photo showed the text, what it read and where.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextEvidence>,
}

/// The structured part of a `photo_text` signal (JSON: `{"image": 0, "text":
/// "ZENTRIX", "x": 120, "y": 80, "w": 200, "h": 40, "confidence": 0.97, "width":
/// 800, "height": 600}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextEvidence {
    /// Position of the photo in the listing's `images`.
    pub image: usize,
    /// The line of text read, as read.
    pub text: String,
    /// Left edge of the upright box around the line, in the photo's pixels as
    /// decoded.
    pub x: u32,
    /// Top edge of the box.
    pub y: u32,
    /// Width of the box.
    pub w: u32,
    /// Height of the box.
    pub h: u32,
    /// The mean probability of the line's characters (0..1, three decimals).
    pub confidence: f64,
    /// Width of the photo as decoded (the box is in its pixels).
    pub width: u32,
    /// Height of the photo as decoded.
    pub height: u32,
}

/// A line of text read in a listing photo, for [`Scorer::text_signals`].
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoLine {
    /// Position of the photo in the listing's `images`.
    pub image: usize,
    /// Width and height of the photo as decoded.
    pub photo: [u32; 2],
    /// What was read.
    pub line: crate::image::ocr::TextLine,
}

/// A counterfeit code word read in a listing photo ([`Scorer::photo_code_words`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoCodeWord {
    /// The code word.
    pub word: CodeWord,
    /// Position of the first photo that reads it in the listing's `images`.
    pub image: usize,
    /// The listing's photos, for the signal's wording.
    pub photos: usize,
}

/// The structured part of a `logo_match` or `photo_part` signal (JSON: `{"image": 0,
/// "reference": 1, "x": 120, "y": 80, "w": 200, "h": 90, "inliers": 23, "width":
/// 800, "height": 600}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionEvidence {
    /// Position of the photo in the listing's `images`.
    pub image: usize,
    /// Position of the reference image among the mark's `images`.
    pub reference: usize,
    /// Left edge of the box around the reference in the photo, in the photo's
    /// pixels as decoded.
    pub x: u32,
    /// Top edge of the box.
    pub y: u32,
    /// Width of the box.
    pub w: u32,
    /// Height of the box.
    pub h: u32,
    /// Correspondences agreeing with the geometry, at distinct places of the
    /// reference.
    pub inliers: u32,
    /// Width of the photo as decoded (the box is in its pixels).
    pub width: u32,
    /// Height of the photo as decoded.
    pub height: u32,
}

/// Which of a listing's photos an image match came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PhotoSource {
    /// The photo at this position of the listing's `images`.
    Image(usize),
    /// The hash at this position of the listing's `image_hashes`.
    ImageHash(usize),
}

/// The structured part of an `image_match` signal (JSON: `{"image": 0,
/// "reference": 1, "distance": 4}`, or `"image_hash"` in place of `"image"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoEvidence {
    /// Position of the matching photo in the listing's `images`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<usize>,
    /// Position of the matching hash in the listing's `image_hashes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_hash: Option<usize>,
    /// Position of the matched reference image among the mark's `images`.
    pub reference: usize,
    /// PDQ distance in bits (0..=31).
    pub distance: u32,
}

impl PhotoEvidence {
    /// Where the matching photo is in the listing.
    pub fn source(&self) -> Option<PhotoSource> {
        match (self.image, self.image_hash) {
            (Some(i), _) => Some(PhotoSource::Image(i)),
            (None, Some(h)) => Some(PhotoSource::ImageHash(h)),
            (None, None) => None,
        }
    }
}

/// Where the mark stands in the title, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Byte offset of the mention in the title.
    pub start: usize,
    /// End byte offset.
    pub end: usize,
    /// The mention as written.
    pub text: String,
}

/// A mark a listing may infringe, with the evidence and its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The mark's id.
    pub mark_id: String,
    /// The mark's name.
    pub mark: String,
    /// 0..1, higher is more suspect.
    pub score: f64,
    /// The evidence, strongest first.
    pub signals: Vec<Signal>,
    /// Where the title names the mark (empty when only other evidence points to it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// Set when an entry of the mark's negative feedback bank explains the finding
    /// (see [`crate::registry::Bank`]): it is stored dismissed, not queued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<crate::registry::Suppression>,
}

/// Scores listings against a fixed set of marks. Build once, share between threads.
#[derive(Debug)]
pub struct Scorer {
    marks: Vec<Mark>,
    matcher: Matcher,
    context: Context,
    rates: Rates,
}

/// A title folded and matched, nothing excused yet ([`Scorer::mentions`]).
#[derive(Debug, Clone)]
pub struct Mentions {
    title: String,
    folded: crate::text::Folded,
    matches: Vec<TitleMatch>,
    /// The listing's code words, once read (by [`Scorer::spellings`]), with a hash
    /// of the description they were read from: they are taken only for a listing
    /// with that description (two listings may share an id and a title).
    code_words: Option<(u64, Vec<CodeWord>)>,
}

/// A hash of `listing`'s description, which [`Mentions`] keeps with the code
/// words read from it.
fn description_hash(listing: &Listing) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    listing.description.hash(&mut h);
    h.finish()
}

impl Mentions {
    /// The title they were found in.
    pub fn title(&self) -> &str {
        &self.title
    }
}

impl Scorer {
    /// Indexes `marks` for matching.
    pub fn new(marks: Vec<Mark>, rates: Rates) -> Scorer {
        let matcher = Matcher::new(&marks);
        Scorer::with_matcher(marks, rates, matcher)
    }

    /// A scorer with a title matcher built elsewhere (other known brands, some
    /// rules switched off) from the same `marks`.
    pub fn with_matcher(marks: Vec<Mark>, rates: Rates, matcher: Matcher) -> Scorer {
        Scorer {
            marks,
            matcher,
            context: Context::new(),
            rates,
        }
    }

    /// The marks being matched.
    pub fn marks(&self) -> &[Mark] {
        &self.marks
    }

    /// The title matcher.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// The findings for one listing, highest score first (ties by mark id).
    pub fn score(&self, listing: &Listing) -> Vec<Finding> {
        self.score_with(listing, &[])
    }

    /// [`Scorer::score`] with extra evidence computed elsewhere (image matches), each
    /// for the mark at the given index of [`Scorer::marks`].
    pub fn score_with(&self, listing: &Listing, extra: &[(usize, Signal)]) -> Vec<Finding> {
        self.score_in(listing, extra, &NoCensus)
    }

    /// [`Scorer::score_with`] knowing the brands the marketplace's sellers declare
    /// ([`census`](crate::text::census)): a misspelling that spells one is that
    /// brand.
    pub fn score_in(
        &self,
        listing: &Listing,
        extra: &[(usize, Signal)],
        census: &dyn BrandCensus,
    ) -> Vec<Finding> {
        let mentions = self.mentions(&listing.title);
        self.score_mentions(listing, mentions, extra, census)
    }

    /// Every mention of a mark in `title`, misspellings of other brands included
    /// (nothing is excused yet): what [`Scorer::spellings`] counts and
    /// [`Scorer::score_mentions`] scores, so that a batch matches each title once.
    pub fn mentions(&self, title: &str) -> Mentions {
        let folded = fold(title);
        let all = ListingContext {
            declared_brand: None,
            code_words: true,
        };
        let matches = self.matcher.find_in_context(title, &folded, &all);
        Mentions {
            title: title.to_owned(),
            folded,
            matches,
            code_words: None,
        }
    }

    /// The spellings `listing`'s title writes for the census of spellings
    /// ([`census`](crate::text::census)), from its `mentions`: none when the
    /// listing carries counterfeit code words or its declared brand names a mark.
    /// The code words read are kept in `mentions` for scoring.
    pub fn spellings(&self, listing: &Listing, mentions: &mut Mentions) -> Vec<(String, bool)> {
        let counted = mentions
            .matches
            .iter()
            .any(|m| m.kind == MatchKind::Fuzzy || m.glued);
        if !counted || mentions.title != listing.title {
            return Vec::new();
        }
        let declared = listing.brand.as_deref().filter(|b| !b.trim().is_empty());
        if declared.is_some_and(|b| {
            self.matcher
                .find(b)
                .iter()
                .any(|m| m.kind != MatchKind::Fuzzy && !m.glued)
        }) {
            return Vec::new();
        }
        // Read once: scoring the same listing takes them from here.
        let code_words = self.code_words(listing, &mentions.folded);
        let suspicious = !code_words.is_empty();
        mentions.code_words = Some((description_hash(listing), code_words));
        if suspicious {
            return Vec::new();
        }
        self.matcher
            .spellings(&mentions.folded, &mentions.matches, declared)
    }

    /// The counterfeit code words of the listing's title and description.
    fn code_words(&self, listing: &Listing, folded: &crate::text::Folded) -> Vec<CodeWord> {
        let mut code_words = self.context.code_words(&listing.title, folded);
        if let Some(d) = &listing.description {
            for w in self.context.code_words(d, &fold(d)) {
                if !code_words.iter().any(|c| c.word == w.word) {
                    code_words.push(w);
                }
            }
        }
        code_words
    }

    /// [`Scorer::score_in`] from the listing's title `mentions`
    /// ([`Scorer::mentions`]); mentions of another title are found again.
    pub fn score_mentions(
        &self,
        listing: &Listing,
        mentions: Mentions,
        extra: &[(usize, Signal)],
        census: &dyn BrandCensus,
    ) -> Vec<Finding> {
        self.score_mentions_with(listing, mentions, extra, &[], census)
    }

    /// [`Scorer::score_mentions`] with the counterfeit code words read in the
    /// listing's photos ([`Scorer::photo_code_words`]): they count as the title's
    /// and description's do, each once.
    pub fn score_mentions_with(
        &self,
        listing: &Listing,
        mentions: Mentions,
        extra: &[(usize, Signal)],
        photo_words: &[PhotoCodeWord],
        census: &dyn BrandCensus,
    ) -> Vec<Finding> {
        let mentions = if mentions.title == listing.title {
            mentions
        } else {
            self.mentions(&listing.title)
        };
        let Mentions {
            folded,
            mut matches,
            code_words: read,
            ..
        } = mentions;
        let declared = listing.brand.as_deref().filter(|b| !b.trim().is_empty());
        let mut brand_matches = declared.map(|b| self.matcher.find(b)).unwrap_or_default();
        if matches.is_empty() && brand_matches.is_empty() && extra.is_empty() {
            return Vec::new();
        }
        let code_words = match read {
            Some((hash, words)) if hash == description_hash(listing) => words,
            _ => self.code_words(listing, &folded),
        };
        let photo_words: Vec<&PhotoCodeWord> = photo_words
            .iter()
            .filter(|p| !code_words.iter().any(|c| c.word == p.word.word))
            .collect();
        // A declared brand that is only a misspelling of a mark, or the mark glued
        // to another word, names another brand ("Metra" is not Metro, "DigiPower" is
        // not Digi), and so does a title word spelt like it, unless the listing
        // speaks of imitations (in its text or its photos).
        if code_words.is_empty() && photo_words.is_empty() {
            let glued_brands = self.matcher.rules().glued_brands;
            brand_matches.retain(|m| m.kind != MatchKind::Fuzzy && !(m.glued && glued_brands));
            let other = declared.filter(|_| brand_matches.is_empty());
            self.matcher
                .excuse_other_brands(&folded, &mut matches, other, census);
        }
        // The goods the listing sells, against each mark's Nice classes: a
        // misspelling on goods the mark is not registered for is another name.
        let goods = if matches
            .iter()
            .any(|m| !self.marks[m.mark].classes.is_empty())
        {
            let texts = [listing.category.as_deref(), Some(listing.title.as_str())];
            nice::classes_of(texts.into_iter().flatten())
        } else {
            Vec::new()
        };
        matches.retain(|m| {
            m.kind != MatchKind::Fuzzy
                || nice::fit(&goods, &self.marks[m.mark].classes) != ClassFit::Disagrees
        });
        let mut marks: Vec<usize> = matches
            .iter()
            .chain(&brand_matches)
            .map(|m| m.mark)
            .chain(extra.iter().map(|(m, _)| *m))
            .collect();
        marks.sort_unstable();
        marks.dedup();
        if marks.is_empty() {
            return Vec::new();
        }
        let referential = self.context.referential(&folded);
        let mut findings: Vec<Finding> = marks
            .into_iter()
            .map(|mi| {
                let evidence = TitleEvidence {
                    listing,
                    goods: nice::fit(&goods, &self.marks[mi].classes),
                    title_matches: matches.iter().filter(|m| m.mark == mi).collect(),
                    brand_declared: brand_matches.iter().any(|m| m.mark == mi),
                    code_words: &code_words,
                    photo_words: &photo_words,
                    referential: &referential,
                    extra: extra
                        .iter()
                        .filter(|(m, _)| *m == mi)
                        .map(|(_, s)| s)
                        .collect(),
                };
                self.finding(mi, &evidence)
            })
            .collect();
        findings.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.mark_id.cmp(&b.mark_id))
        });
        findings
    }

    /// The `image_match` signals for [`Scorer::score_with`]: one per mark, from the
    /// closest of `hits`, each a listing photo's position among `photos` photos and
    /// what [`ReferenceIndex::lookup`](crate::image::ReferenceIndex::lookup) found for
    /// it (marks and images numbered as in [`Scorer::marks`]).
    pub fn image_signals(&self, hits: &[(usize, ImageHit)], photos: usize) -> Vec<(usize, Signal)> {
        let hits: Vec<(PhotoSource, ImageHit)> = hits
            .iter()
            .map(|(i, h)| (PhotoSource::Image(*i), *h))
            .collect();
        self.photo_signals(&hits, photos, 0)
    }

    /// [`Scorer::image_signals`] for hits of photos (`photos` of them in the listing)
    /// and of supplied photo hashes (`hashes` of them). On equal distance a photo
    /// goes before a hash and an earlier one before a later one.
    pub fn photo_signals(
        &self,
        hits: &[(PhotoSource, ImageHit)],
        photos: usize,
        hashes: usize,
    ) -> Vec<(usize, Signal)> {
        let mut best: Vec<&(PhotoSource, ImageHit)> = Vec::new();
        for hit in hits {
            match best.iter_mut().find(|b| b.1.mark == hit.1.mark) {
                Some(b) if (hit.1.distance, hit.0) < (b.1.distance, b.0) => *b = hit,
                Some(_) => {}
                None => best.push(hit),
            }
        }
        best.sort_by_key(|(_, h)| h.mark);
        best.into_iter()
            .filter_map(|(source, hit)| {
                let mark = self.marks.get(hit.mark)?;
                let reference = mark.images.get(hit.image)?;
                let (photo, evidence) = match *source {
                    PhotoSource::Image(i) => (
                        numbered("photo", i, photos),
                        PhotoEvidence {
                            image: Some(i),
                            image_hash: None,
                            reference: hit.image,
                            distance: hit.distance,
                        },
                    ),
                    PhotoSource::ImageHash(i) => (
                        numbered("photo hash", i, hashes),
                        PhotoEvidence {
                            image: None,
                            image_hash: Some(i),
                            reference: hit.image,
                            distance: hit.distance,
                        },
                    ),
                };
                let how = match hit.edit() {
                    Some(edit) => format!(", {edit}"),
                    None => String::new(),
                };
                let signal = Signal {
                    kind: SignalKind::ImageMatch,
                    detail: format!(
                        "{photo} matches reference {} of {} (distance {}{how})",
                        short_path(&reference.path),
                        mark.name,
                        hit.distance
                    ),
                    weight: image_weight(hit.distance),
                    photo: Some(evidence),
                    region: None,
                    text: None,
                };
                Some((hit.mark, signal))
            })
            .collect()
    }

    /// The `logo_match` and `photo_part` signals for [`Scorer::score_with`]: one per
    /// mark and kind, from the hit with the most inliers (an earlier photo first on a
    /// tie), each hit with the position of its photo among `photos` photos.
    pub fn region_signals(
        &self,
        hits: &[(usize, RegionHit)],
        photos: usize,
    ) -> Vec<(usize, Signal)> {
        let mut best: Vec<&(usize, RegionHit)> = Vec::new();
        let known = |h: &RegionHit| {
            self.marks
                .get(h.reference.mark)
                .is_some_and(|m| h.reference.image < m.images.len())
        };
        for hit in hits.iter().filter(|(_, h)| known(h)) {
            let key = |h: &RegionHit| (h.reference.mark, h.reference.kind == RegionKind::Logo);
            match best.iter_mut().find(|b| key(&b.1) == key(&hit.1)) {
                Some(b)
                    if (std::cmp::Reverse(hit.1.inliers), hit.0)
                        < (std::cmp::Reverse(b.1.inliers), b.0) =>
                {
                    *b = hit
                }
                Some(_) => {}
                None => best.push(hit),
            }
        }
        best.sort_by_key(|(_, h)| (h.reference.mark, h.reference.kind == RegionKind::Photo));
        best.into_iter()
            .filter_map(|&(photo, hit)| {
                let mark = self.marks.get(hit.reference.mark)?;
                let reference = mark.images.get(hit.reference.image)?;
                let [x, y, w, h] = hit.bbox;
                let (kind, what) = match hit.reference.kind {
                    RegionKind::Logo => (SignalKind::LogoMatch, "logo"),
                    RegionKind::Photo => (SignalKind::PhotoPart, "part of reference"),
                };
                let signal = Signal {
                    kind,
                    detail: format!(
                        "{} shows {what} {} of {} in the box at ({x}, {y}), {w} × {h} pixels ({} inliers)",
                        numbered("photo", photo, photos),
                        short_path(&reference.path),
                        mark.name,
                        hit.inliers
                    ),
                    weight: region_weight(hit.inliers),
                    photo: None,
                    region: Some(RegionEvidence {
                        image: photo,
                        reference: hit.reference.image,
                        x,
                        y,
                        w,
                        h,
                        inliers: hit.inliers,
                        width: hit.photo[0],
                        height: hit.photo[1],
                    }),
                    text: None,
                };
                Some((hit.reference.mark, signal))
            })
            .collect()
    }

    /// The counterfeit code words in the lines read in a listing's photos
    /// (`photos` of them), each once, from the first photo that reads it.
    pub fn photo_code_words(&self, lines: &[PhotoLine], photos: usize) -> Vec<PhotoCodeWord> {
        let mut out: Vec<PhotoCodeWord> = Vec::new();
        for l in lines {
            let folded = fold(&l.line.text);
            for word in self.context.code_words(&l.line.text, &folded) {
                if !out.iter().any(|p| p.word.word == word.word) {
                    out.push(PhotoCodeWord {
                        word,
                        image: l.image,
                        photos,
                    });
                }
            }
        }
        out
    }

    /// The `photo_text` signals for [`Scorer::score_with`]: each line read in the
    /// listing's photos (`photos` of them) is matched like a title, another brand's
    /// name that a mark's misspelling spells excused as in titles; one signal per
    /// mark, from the heaviest reading (the earlier photo and line on a tie).
    pub fn text_signals(&self, lines: &[PhotoLine], photos: usize) -> Vec<(usize, Signal)> {
        let mut best: Vec<(usize, Signal)> = Vec::new();
        for l in lines {
            let folded = fold(&l.line.text);
            let mut matches = self.matcher.find_folded(&l.line.text, &folded);
            self.matcher
                .excuse_other_brands(&folded, &mut matches, None, &NoCensus);
            for m in &matches {
                let Some(mark) = self.marks.get(m.mark) else {
                    continue;
                };
                let read = self.title_signal(mark, &l.line.text, m, ClassFit::Unknown);
                let weight = if m.kind == MatchKind::Confusable {
                    W_PHOTO_TEXT_CONFUSABLE
                } else {
                    read.weight
                };
                let [x, y, w, h] = l.line.bbox;
                let confidence = round3(f64::from(l.line.confidence));
                let signal = Signal {
                    kind: SignalKind::PhotoText,
                    detail: format!(
                        "{} reads \"{}\" in the box at ({x}, {y}), {w} × {h} pixels \
                         (confidence {confidence:.2}): {}",
                        numbered("photo", l.image, photos),
                        sanitize(&l.line.text),
                        read.detail
                    ),
                    weight,
                    photo: None,
                    region: None,
                    text: Some(TextEvidence {
                        image: l.image,
                        text: sanitize(&l.line.text),
                        x,
                        y,
                        w,
                        h,
                        confidence,
                        width: l.photo[0],
                        height: l.photo[1],
                    }),
                };
                match best.iter_mut().find(|(bm, _)| *bm == m.mark) {
                    Some(b) if signal.weight > b.1.weight => b.1 = signal,
                    Some(_) => {}
                    None => best.push((m.mark, signal)),
                }
            }
        }
        best.sort_by_key(|(m, _)| *m);
        best
    }

    fn finding(&self, mi: usize, ev: &TitleEvidence<'_>) -> Finding {
        let mark = &self.marks[mi];
        let mut signals = Vec::new();
        let best = ev
            .title_matches
            .iter()
            .map(|m| (self.title_signal(mark, &ev.listing.title, m, ev.goods), *m))
            .max_by(|a, b| {
                a.0.weight
                    .total_cmp(&b.0.weight)
                    .then(b.1.start.cmp(&a.1.start))
            });
        let spans = ev
            .title_matches
            .iter()
            .map(|m| Span {
                start: m.start,
                end: m.end,
                text: ev.listing.title[m.start..m.end].to_string(),
            })
            .collect();
        if let Some((signal, m)) = &best {
            signals.push(signal.clone());
            if let Some(r) = ev.referential.iter().find(|r| r.applies_to(m.first_token)) {
                signals.push(Signal {
                    kind: SignalKind::ReferentialUse,
                    detail: format!("referential use: \"{}\" before the mark", r.phrase),
                    weight: W_REFERENTIAL,
                    photo: None,
                    region: None,
                    text: None,
                });
            }
        }
        if ev.brand_declared {
            let brand = ev.listing.brand.as_deref().unwrap_or_default();
            let weight = if best.is_some() {
                W_BRAND_DECLARED
            } else {
                W_BRAND_ONLY
            };
            signals.push(Signal {
                kind: SignalKind::BrandDeclared,
                detail: format!("the page declares the brand \"{}\"", sanitize(brand)),
                weight,
                photo: None,
                region: None,
                text: None,
            });
        }
        signals.extend(ev.extra.iter().map(|s| (*s).clone()));
        for w in ev.code_words {
            signals.push(keyword_signal(w, String::new()));
        }
        for p in ev.photo_words {
            let read = format!(" read in {}", numbered("photo", p.image, p.photos));
            signals.push(keyword_signal(&p.word, read));
        }
        // An accessory for the product sells below the product's floor by nature.
        let referential = signals.iter().any(|s| s.kind == SignalKind::ReferentialUse);
        if !referential {
            if let Some(s) = self.price_signal(mark, ev.listing) {
                signals.push(s);
            }
        }
        if let Some(seller) = &ev.listing.seller {
            if mark
                .authorized_sellers
                .iter()
                .any(|a| a.eq_ignore_ascii_case(seller.id.trim()))
            {
                signals.push(Signal {
                    kind: SignalKind::AuthorizedSeller,
                    detail: format!(
                        "seller \"{}\" is authorised by the owner of {}",
                        sanitize(&seller.id),
                        mark.name
                    ),
                    weight: W_AUTHORIZED_SELLER,
                    photo: None,
                    region: None,
                    text: None,
                });
            }
        }
        signals.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
        Finding {
            suppressed: None,
            mark_id: mark.id.clone(),
            mark: mark.name.clone(),
            score: combine(&signals),
            signals,
            spans,
        }
    }

    fn title_signal(&self, mark: &Mark, title: &str, m: &TitleMatch, goods: ClassFit) -> Signal {
        let term = self.matcher.term(m.term);
        let written = sanitize(&title[m.start..m.end]);
        let how = if m.evasions.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.evasions.join(", "))
        };
        match (m.kind, term.kind) {
            (MatchKind::Fuzzy, _) => {
                let t = ((m.similarity as f64 - 0.75) / 0.25).clamp(0.0, 1.0);
                let plural = if m.edits == 1 { "" } else { "s" };
                let mut weight =
                    round3(W_TITLE_FUZZY_MIN + t * (W_TITLE_FUZZY_MAX - W_TITLE_FUZZY_MIN));
                // An inflection or misspelling of an ordinary word ("shells") is the
                // word as often as the mark: not a suspect on its own.
                if self.matcher.is_ordinary_word(m.term) {
                    weight = weight.min(ordinary_word_weight(goods));
                }
                Signal {
                    kind: SignalKind::TitleFuzzy,
                    detail: format!(
                        "\"{written}\" ~ {} ({} edit{plural}){how}",
                        term.text, m.edits
                    ),
                    weight,
                    photo: None,
                    region: None,
                    text: None,
                }
            }
            (MatchKind::Confusable, _) => Signal {
                kind: SignalKind::TitleConfusable,
                detail: format!("\"{written}\" ~ {}{how}", term.text),
                weight: W_TITLE_CONFUSABLE,
                photo: None,
                region: None,
                text: None,
            },
            (MatchKind::Exact, TermKind::Name)
                if self.matcher.is_ordinary_word(m.term) && goods != ClassFit::Agrees =>
            {
                Signal {
                    kind: SignalKind::TitleExact,
                    detail: format!(
                        "\"{written}\" is the mark {}, also an ordinary word",
                        mark.name
                    ),
                    weight: ordinary_word_weight(goods),
                    photo: None,
                    region: None,
                    text: None,
                }
            }
            (MatchKind::Exact, TermKind::Name) => Signal {
                kind: SignalKind::TitleExact,
                detail: format!("\"{written}\" is the mark {}", mark.name),
                weight: W_TITLE_EXACT,
                photo: None,
                region: None,
                text: None,
            },
            (MatchKind::Exact, TermKind::Alias) => Signal {
                kind: SignalKind::TitleAlias,
                detail: format!("\"{written}\" is an alias of {}", mark.name),
                weight: W_TITLE_ALIAS,
                photo: None,
                region: None,
                text: None,
            },
            (MatchKind::Exact, TermKind::Pinyin) => Signal {
                kind: SignalKind::TitleAlias,
                detail: format!("\"{written}\" is the pinyin of {}'s alias", mark.name),
                weight: W_TITLE_ALIAS,
                photo: None,
                region: None,
                text: None,
            },
        }
    }

    fn price_signal(&self, mark: &Mark, listing: &Listing) -> Option<Signal> {
        let floor = mark.min_price.as_ref()?;
        let price = listing.price.as_ref()?;
        if !(price.amount.is_finite() && price.amount >= 0.0 && floor.amount > 0.0) {
            return None;
        }
        let in_floor_currency =
            self.rates
                .convert(price.amount, &price.currency, &floor.currency)?;
        let ratio = in_floor_currency / floor.amount;
        if ratio >= 1.0 {
            return None;
        }
        let weight = round3(W_PRICE_MIN + (1.0 - ratio) * (W_PRICE_MAX - W_PRICE_MIN));
        Some(Signal {
            kind: SignalKind::PriceAnomaly,
            detail: format!(
                "{:.2} {} is {:.0}% of the floor {:.2} {}",
                price.amount,
                sanitize(&price.currency),
                ratio * 100.0,
                floor.amount,
                floor.currency
            ),
            weight,
            photo: None,
            region: None,
            text: None,
        })
    }
}

/// The `keyword` signal of a counterfeit code word; `place` says where it was read
/// when not in the listing's text.
fn keyword_signal(w: &CodeWord, place: String) -> Signal {
    let weight = match w.strength {
        Strength::Strong => W_KEYWORD_STRONG,
        Strength::Weak => W_KEYWORD_WEAK,
    };
    Signal {
        kind: SignalKind::Keyword,
        detail: format!("counterfeit code word \"{}\"{place}", w.word),
        weight,
        photo: None,
        region: None,
        text: None,
    }
}

struct TitleEvidence<'a> {
    listing: &'a Listing,
    title_matches: Vec<&'a TitleMatch>,
    brand_declared: bool,
    code_words: &'a [CodeWord],
    /// Code words read in the photos that the title and description lack.
    photo_words: &'a [&'a PhotoCodeWord],
    /// The listing's goods against the mark's Nice classes.
    goods: ClassFit,
    referential: &'a [Referential],
    extra: Vec<&'a Signal>,
}

/// Combines signal weights into a score (see the module docs).
pub fn combine(signals: &[Signal]) -> f64 {
    let mut miss = 1.0;
    let mut scale = 1.0;
    for s in signals {
        if s.weight > 0.0 {
            miss *= 1.0 - s.weight.min(1.0);
        } else {
            scale *= 1.0 + s.weight.max(-1.0);
        }
    }
    round3((1.0 - miss) * scale)
}

/// The weight of a photo `distance` bits from a reference image (see
/// [`W_IMAGE_MAX`]).
pub fn image_weight(distance: u32) -> f64 {
    let t = f64::from(distance.min(MATCH_DISTANCE)) / f64::from(MATCH_DISTANCE);
    round3(W_IMAGE_MAX - t * (W_IMAGE_MAX - W_IMAGE_MIN))
}

/// The weight of a logo or photo part found with `inliers` inliers.
pub fn region_weight(inliers: u32) -> f64 {
    let min = crate::image::logo::MIN_INLIERS as f64;
    let t = ((f64::from(inliers) - min) / (3.0 * min)).clamp(0.0, 1.0);
    round3(W_REGION_MIN + t * (W_REGION_MAX - W_REGION_MIN))
}

/// `what N` (1-based) when there are several, `what` alone otherwise.
fn numbered(what: &str, position: usize, count: usize) -> String {
    if count > 1 {
        format!("{what} {}", position + 1)
    } else {
        what.to_owned()
    }
}

/// The last two components of a stored reference path (`images/logo.png`): enough
/// for a reviewer to find it, without the machine's folder layout.
fn short_path(path: &str) -> String {
    let parts: Vec<&str> = path.rsplit(['/', '\\']).take(2).collect();
    let short: Vec<&str> = parts.into_iter().rev().collect();
    sanitize(&short.join("/"))
}

/// The weight of a mark that is an ordinary word, by what the listing's goods say.
fn ordinary_word_weight(goods: ClassFit) -> f64 {
    match goods {
        ClassFit::Agrees => W_TITLE_EXACT,
        ClassFit::Disagrees => W_TITLE_ORDINARY_WORD,
        ClassFit::Unknown => W_TITLE_ORDINARY_WORD_UNKNOWN,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Scraped text for a detail or a terminal: control and bidi characters removed,
/// length bounded.
pub fn sanitize(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_control() && !crate::text::normalize::is_invisible(*c))
        .take(200)
        .collect();
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Seller;
    use crate::registry::Money;

    fn scorer() -> Scorer {
        let marks = vec![
            Mark {
                id: "zentrix".into(),
                name: "Zentrix".into(),
                aliases: vec!["泽特里克斯".into()],
                min_price: Some(Money {
                    amount: 80.0,
                    currency: "USD".into(),
                }),
                authorized_sellers: vec!["zentrix-official".into()],
                ..Mark::default()
            },
            Mark {
                id: "iphone".into(),
                name: "iPhone".into(),
                ..Mark::default()
            },
        ];
        Scorer::new(marks, Rates::default())
    }

    fn listing(title: &str) -> Listing {
        Listing {
            id: "L1".into(),
            title: title.into(),
            ..Listing::default()
        }
    }

    fn classed(name: &str, classes: &[u8]) -> Mark {
        Mark {
            id: name.to_lowercase(),
            name: name.into(),
            classes: classes.to_vec(),
            ..Mark::default()
        }
    }

    #[test]
    fn a_mark_that_is_an_ordinary_word_needs_its_goods() {
        let s = Scorer::new(vec![classed("Shell", &[4])], Rates::default());
        // On other goods: found, below the suspect threshold.
        let f = s.score(&listing("Shell leather wallet"));
        assert_eq!(f[0].score, W_TITLE_ORDINARY_WORD);
        // Goods unknown: at the threshold, below a coined name.
        let f = s.score(&listing("Shell 6208 walnut"));
        assert_eq!(f[0].score, W_TITLE_ORDINARY_WORD_UNKNOWN);
        // On goods of the mark's class it is the mark.
        let f = s.score(&listing("Shell motor oil 5W-30"));
        assert_eq!(f[0].score, W_TITLE_EXACT);
        // Its plural is found, weighed like the word; on other goods it is dropped
        // as any misspelling is.
        let f = s.score(&listing("sea shells 6208"));
        assert_eq!(f[0].score, W_TITLE_ORDINARY_WORD_UNKNOWN);
        assert!(s.score(&listing("sea shells wall art poster")).is_empty());
        // A mark that is a product noun loses its plural altogether.
        let s = Scorer::new(vec![classed("Case", &[8])], Rates::default());
        assert!(s.score(&listing("jewel cases, 12 pack")).is_empty());
    }

    #[test]
    fn a_misspelling_on_goods_of_other_classes_is_another_name() {
        let s = Scorer::new(vec![classed("Kinetix", &[25])], Rates::default());
        assert!(s.score(&listing("Kinettix speaker cable")).is_empty());
        assert_eq!(s.score(&listing("Kinettix running shoes")).len(), 1);
        // Goods unknown: the misspelling counts.
        assert_eq!(s.score(&listing("Kinettix 3000")).len(), 1);
        // Written as registered, any goods.
        assert_eq!(s.score(&listing("Kinetix speaker cable")).len(), 1);
    }

    #[test]
    fn a_declared_brand_spelt_like_the_title_word_is_another_brand() {
        let s = Scorer::new(vec![classed("Kinetix", &[])], Rates::default());
        let mut l = listing("Kinetex 70-1721 wiring harness");
        l.brand = Some("Kinetex".into());
        assert!(s.score(&l).is_empty());
        // With a counterfeit code word the misspelling counts again.
        l.title = "Kinetex replica wiring harness".into();
        assert_eq!(s.score(&l).len(), 1);
    }

    #[test]
    fn a_spelling_two_sellers_declare_is_another_brand_in_every_listing() {
        use crate::text::census::{declarer, DeclaredBrands};
        let s = Scorer::new(vec![classed("Kinetix", &[])], Rates::default());
        let l = listing("Kinetex 70-1721 wiring harness");
        let mut census = DeclaredBrands::new();
        census.add("Kinetex", declarer(Some("shop-a"), Some("m.example")));
        // One seller's declaration decides only for its own listings.
        assert_eq!(s.score_in(&l, &[], &census).len(), 1);
        census.add("KINETEX", declarer(Some("shop-b"), Some("m.example")));
        assert!(s.score_in(&l, &[], &census).is_empty());
        // Code words, a look-alike and the mark as written still count.
        for title in [
            "Kinetex replica wiring harness",
            "Kin3tix wiring harness",
            "Kinetix wiring harness",
        ] {
            assert_eq!(
                s.score_in(&listing(title), &[], &census).len(),
                1,
                "{title}"
            );
        }
    }

    #[test]
    fn a_listing_counts_the_spellings_it_writes_unless_it_says_otherwise() {
        use crate::text::census::{declarer, DeclaredBrands};
        let s = Scorer::new(
            vec![classed("Kinetix", &[]), classed("Zentrix", &[])],
            Rates::default(),
        );
        let spelt = |title: &str, brand: Option<&str>| {
            let mut l = listing(title);
            l.brand = brand.map(Into::into);
            let mut m = s.mentions(&l.title);
            s.spellings(&l, &mut m)
        };
        // Nothing declared: written, not declared. The listing's own brand: declared.
        assert_eq!(spelt("Kinetex harness", None), [("kinetex".into(), false)]);
        assert_eq!(
            spelt("Kinetex harness", Some("Kinetex Audio")),
            [("kinetex".into(), true)]
        );
        // Another brand declared, the mark declared, code words, or the mark as
        // written: no spelling to count.
        assert!(spelt("Kinetex harness", Some("Metra")).is_empty());
        assert!(spelt("Kinetex harness", Some("Zentrix")).is_empty());
        assert!(spelt("Kinetex replica harness", None).is_empty());
        assert!(spelt("Kinetix harness", None).is_empty());
        // Counted from two sellers, one declaring it: another brand when scored.
        let mut census = DeclaredBrands::new();
        census.add_spelling("kinetex", declarer(Some("a"), None), true);
        let l = listing("Kinetex 70-1721 wiring harness");
        assert_eq!(s.score_in(&l, &[], &census).len(), 1);
        census.add_spelling("kinetex", declarer(Some("b"), None), false);
        let mentions = s.mentions(&l.title);
        assert!(s.score_mentions(&l, mentions, &[], &census).is_empty());
        // Code words read for one listing are not another's: the same title
        // without the first one's description is excused as before.
        let mut with_code_words = listing("Kinetex 70-1721 wiring harness");
        with_code_words.description = Some("1:1 replica".into());
        let mut mentions = s.mentions(&l.title);
        assert!(s.spellings(&with_code_words, &mut mentions).is_empty());
        assert!(s.score_mentions(&l, mentions, &[], &census).is_empty());
        // Mentions of another title are found again.
        let other = s.mentions("Zentrix cable");
        assert_eq!(s.score_mentions(&l, other, &[], &census).len(), 0);
        let other = s.mentions("Kinetex cable");
        let zentrix = listing("Zentrix cable");
        assert_eq!(s.score_mentions(&zentrix, other, &[], &census).len(), 1);
    }

    #[test]
    fn combination_is_noisy_or_scaled_by_negatives() {
        let s = |w: f64| Signal {
            kind: SignalKind::Keyword,
            detail: String::new(),
            weight: w,
            photo: None,
            region: None,
            text: None,
        };
        assert_eq!(combine(&[s(0.5), s(0.5)]), 0.75);
        assert_eq!(combine(&[s(0.6), s(-0.5)]), 0.3);
        assert_eq!(combine(&[]), 0.0);
    }

    #[test]
    fn code_words_read_in_a_photo_count_once_and_name_the_photo() {
        let sc = scorer();
        let line = |image: usize, text: &str| PhotoLine {
            image,
            photo: [800, 600],
            line: crate::image::ocr::TextLine {
                text: text.into(),
                confidence: 0.9,
                bbox: [10, 10, 100, 30],
                quad: [[10.0, 10.0], [110.0, 10.0], [110.0, 40.0], [10.0, 40.0]],
            },
        };
        let lines = [line(0, "SALE"), line(1, "1:1 REPLICA"), line(1, "replica")];
        let words = sc.photo_code_words(&lines, 2);
        let read: Vec<(&str, usize)> = words.iter().map(|p| (p.word.word, p.image)).collect();
        assert_eq!(read, [("replica", 1), ("1:1", 1)]);

        let score = |l: &Listing, words: &[PhotoCodeWord]| {
            sc.score_mentions_with(l, sc.mentions(&l.title), &[], words, &NoCensus)
        };
        let plain = listing("Zentrix running shoes");
        let found = score(&plain, &words);
        let keywords: Vec<&str> = found[0]
            .signals
            .iter()
            .filter(|s| s.kind == SignalKind::Keyword)
            .map(|s| s.detail.as_str())
            .collect();
        assert_eq!(
            keywords,
            [
                "counterfeit code word \"replica\" read in photo 2",
                "counterfeit code word \"1:1\" read in photo 2"
            ]
        );
        assert!(found[0].score > score(&plain, &[])[0].score);
        // Said in the description already: counted once, as the description's.
        let mut described = listing("Zentrix running shoes");
        described.description = Some("replica".into());
        let found = score(&described, &words);
        let keywords = found[0]
            .signals
            .iter()
            .filter(|s| s.kind == SignalKind::Keyword)
            .count();
        assert_eq!(keywords, 2);
        // No mark in the listing: code words alone are no finding.
        assert!(score(&listing("Running shoes"), &words).is_empty());
    }

    #[test]
    fn disguise_code_word_and_price_rank_above_a_plain_mention() {
        let sc = scorer();
        let plain = sc.score(&listing("Zentrix running shoes"));
        let mut fake = listing("Z3ntrix running shoes replica");
        fake.price = Some(Money {
            amount: 20.0,
            currency: "USD".into(),
        });
        let fake = sc.score(&fake);
        assert_eq!(plain[0].score, W_TITLE_EXACT);
        assert!(fake[0].score >= 0.95, "{:?}", fake[0]);
        let kinds: Vec<_> = fake[0].signals.iter().map(|s| s.kind).collect();
        assert!(kinds.contains(&SignalKind::TitleConfusable));
        assert!(kinds.contains(&SignalKind::Keyword));
        assert!(kinds.contains(&SignalKind::PriceAnomaly));
    }

    #[test]
    fn referential_use_and_authorised_sellers_lower_the_score() {
        let sc = scorer();
        let r = sc.score(&listing("Silicone case for iPhone 15"));
        assert!(r[0].score < SUSPECT_THRESHOLD && r[0].score > 0.0);
        let mut genuine = listing("Zentrix running shoes");
        genuine.seller = Some(Seller {
            id: "zentrix-official".into(),
            ..Seller::default()
        });
        assert!(sc.score(&genuine)[0].score < 0.1);
    }

    #[test]
    fn declared_brand_alone_makes_a_finding() {
        let sc = scorer();
        let mut l = listing("Running shoes, men");
        l.brand = Some("ZENTRIX".into());
        let f = sc.score(&l);
        assert_eq!(f[0].mark_id, "zentrix");
        assert_eq!(f[0].score, W_BRAND_ONLY);
    }

    #[test]
    fn kind_names_match_serde() {
        for k in [
            SignalKind::TitleExact,
            SignalKind::ImageMatch,
            SignalKind::AuthorizedSeller,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }

    #[test]
    fn no_mention_no_finding() {
        assert!(scorer().score(&listing("Plain running shoes")).is_empty());
    }

    fn hit(mark: usize, distance: u32, dihedral: crate::image::Dihedral) -> ImageHit {
        ImageHit {
            mark,
            image: 0,
            distance,
            variant: crate::image::Variant::Full,
            transform: crate::image::QueryTransform {
                dihedral,
                trimmed: false,
                half: None,
                centre: false,
            },
        }
    }

    fn scorer_with_image() -> Scorer {
        let mut sc = scorer();
        sc.marks[0].images = vec![crate::registry::ImageRef {
            path: "/somewhere/images/zentrix-product.png".into(),
            ..Default::default()
        }];
        sc
    }

    #[test]
    fn image_weight_falls_linearly_with_distance() {
        assert_eq!(image_weight(0), W_IMAGE_MAX);
        assert_eq!(image_weight(MATCH_DISTANCE), W_IMAGE_MIN);
        assert_eq!(image_weight(200), W_IMAGE_MIN);
        assert!(image_weight(10) < W_IMAGE_MAX && image_weight(10) > image_weight(20));
    }

    #[test]
    fn a_matching_photo_alone_makes_a_finding() {
        use crate::image::Dihedral;
        let sc = scorer_with_image();
        let hits = [
            (0, hit(0, 20, Dihedral::Original)),
            (1, hit(0, 12, Dihedral::FlipY)),
        ];
        let extra = sc.image_signals(&hits, 2);
        assert_eq!(extra.len(), 1);
        assert_eq!(
            extra[0].1.detail,
            "photo 2 matches reference images/zentrix-product.png of Zentrix (distance 12, mirrored)"
        );
        let l = listing("");
        let f = sc.score_with(&l, &extra);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].mark_id, "zentrix");
        assert!(f[0].score >= SUSPECT_THRESHOLD, "{:?}", f[0]);
        assert_eq!(f[0].signals[0].kind, SignalKind::ImageMatch);
        let one = sc.image_signals(&[(0, hit(0, 31, Dihedral::Original))], 1);
        assert!(one[0].1.detail.starts_with("photo matches"));
        assert!(sc.score_with(&l, &one)[0].score >= SUSPECT_THRESHOLD);
        // A hit on a mark or image that does not exist is dropped.
        assert!(sc
            .image_signals(&[(0, hit(7, 0, Dihedral::Original))], 1)
            .is_empty());
    }

    #[test]
    fn authorised_sellers_lower_an_image_match() {
        let sc = scorer_with_image();
        let extra = sc.image_signals(&[(0, hit(0, 0, crate::image::Dihedral::Original))], 1);
        let mut l = listing("Running shoes");
        l.seller = Some(Seller {
            id: "zentrix-official".into(),
            ..Seller::default()
        });
        let f = sc.score_with(&l, &extra);
        assert!(f[0].score < 0.1, "{:?}", f[0]);
    }

    #[test]
    fn a_logo_in_a_photo_makes_one_finding_per_mark_from_the_best_hit() {
        let sc = scorer_with_image();
        let region = |image: usize, kind: RegionKind, inliers: u32| RegionHit {
            reference: crate::image::RegionRef {
                mark: 0,
                image,
                kind,
            },
            bbox: [10, 20, 30, 40],
            inliers,
            photo: [640, 480],
        };
        let hits = [
            (0, region(0, RegionKind::Logo, 9)),
            (1, region(0, RegionKind::Logo, 32)),
            (1, region(0, RegionKind::Photo, 8)),
            // A mark or reference that does not exist is skipped.
            (0, region(5, RegionKind::Logo, 50)),
        ];
        let signals = sc.region_signals(&hits, 2);
        let kinds: Vec<SignalKind> = signals.iter().map(|(_, s)| s.kind).collect();
        assert_eq!(kinds, [SignalKind::LogoMatch, SignalKind::PhotoPart]);
        let logo = &signals[0].1;
        let evidence = logo.region.unwrap();
        assert_eq!((evidence.image, evidence.inliers), (1, 32));
        assert_eq!((evidence.width, evidence.height), (640, 480));
        assert_eq!(logo.weight, W_REGION_MAX);
        assert_eq!(signals[1].1.weight, W_REGION_MIN);
        assert!(
            logo.detail
                .starts_with("photo 2 shows logo images/zentrix-product.png of Zentrix"),
            "{}",
            logo.detail
        );
        let f = sc.score_with(&listing("Running shoes"), &signals);
        assert_eq!(f.len(), 1);
        assert!(f[0].score >= SUSPECT_THRESHOLD, "{:?}", f[0]);
    }

    #[test]
    fn price_in_another_currency_is_converted() {
        let sc = scorer();
        let mut l = listing("Zentrix shoes");
        l.price = Some(Money {
            amount: 100.0,
            currency: "CNY".into(),
        });
        let f = sc.score(&l);
        assert!(f[0]
            .signals
            .iter()
            .any(|s| s.kind == SignalKind::PriceAnomaly));
    }
}
