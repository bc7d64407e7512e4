//! The web UI's pages, rendered on the server with maud, which escapes every
//! interpolated string: listing titles and seller names are hostile input. No inline
//! script or style, so the Content-Security-Policy can forbid both.

use maud::{html, Markup, DOCTYPE};

use crate::registry::{BankEntry, ALL_REASONS};
use crate::review::{AuditEntry, FindingRecord, SellerSummary, State, StoredListing};
use crate::scoring::{PhotoEvidence, Signal};

/// The page frame.
pub fn layout(title: &str, signed_in: Option<(&str, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · markhound review" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                header {
                    a href="/queue" { strong { "markhound review" } }
                    @if let Some((name, csrf)) = signed_in {
                        nav {
                            a href="/queue" { "Queue" }
                            a href="/sellers" { "Sellers" }
                            span.who { (name) }
                            form method="post" action="/signout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The sign-in form.
pub fn signin(csrf: &str, error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/signin" {
                input type="hidden" name="csrf" value=(csrf);
                label for="token" { "API token (reviewer or admin)" }
                input #token type="password" name="token" autocomplete="off" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// The title with the matched spans marked (shared with the HTML report).
pub fn highlighted(title: &str, finding: &FindingRecord) -> Markup {
    crate::report::highlighted(title, &finding.spans)
}

/// One action button form for a finding.
fn action_form(f: &FindingRecord, csrf: &str, action: &str, label: &str, back: &str) -> Markup {
    html! {
        form.action method="post" action={ "/findings/" (f.id) "/act" } data-action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="action" value=(action);
            input type="hidden" name="version" value=(f.version);
            input type="hidden" name="back" value=(back);
            button type="submit" { (label) }
        }
    }
}

/// The dismiss form, with the reason that decides what the mark's feedback bank
/// learns.
fn dismiss_form(f: &FindingRecord, csrf: &str, back: &str) -> Markup {
    html! {
        form.action method="post" action={ "/findings/" (f.id) "/act" } data-action="dismiss" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="action" value="dismiss";
            input type="hidden" name="version" value=(f.version);
            input type="hidden" name="back" value=(back);
            select name="reason" aria-label="reason" {
                option value="" { "no reason" }
                @for r in ALL_REASONS { option value=(r.as_str()) { (r.label()) } }
            }
            button type="submit" { "Dismiss (d)" }
        }
    }
}

/// The feedback-bank entries made by decisions on this finding, each with an undo
/// button while it acts.
fn bank_entries(f: &FindingRecord, csrf: &str, entries: &[(bool, BankEntry)]) -> Markup {
    let back = format!("/findings/{}", f.id);
    html! {
        @if !entries.is_empty() {
            h2 { "Feedback bank" }
            table.bank { thead { tr { th { "Entry" } th { "Bank" } th { "Kind" } th { "Value" } th { "Reason" } th { "Decision" } th { "" } } }
                tbody { @for (positive, e) in entries { tr {
                    td { (e.id) }
                    td { @if *positive { "positive" } @else { "negative" } }
                    td { (format!("{:?}", e.kind).to_lowercase()) }
                    td { code { (e.value) } }
                    td { (e.reason.map(|r| r.as_str()).unwrap_or("")) }
                    td { (e.decision) }
                    td { @match &e.undone {
                        Some(u) => { "undone by " (u.actor) " at " (u.at) }
                        None => {
                            form.undo method="post" action={ "/marks/" (f.mark_id) "/bank/" (e.id) "/undo" } {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="back" value=(back);
                                button type="submit" { "Undo" }
                            }
                        }
                    } }
                } } } }
        }
    }
}

/// The actions a finding in `state` offers.
fn actions(f: &FindingRecord, csrf: &str, back: &str) -> Markup {
    html! {
        @if f.state.is_open() {
            (action_form(f, csrf, "confirm", "Confirm (c)", back))
            (dismiss_form(f, csrf, back))
            @if f.state != State::InReview { (action_form(f, csrf, "escalate", "Escalate", back)) }
        }
        @if f.state == State::Confirmed { (action_form(f, csrf, "notice_sent", "Notice sent", back)) }
        @if f.state == State::NoticeSent {
            (action_form(f, csrf, "removed", "Removed", back))
            (action_form(f, csrf, "reinstated", "Reinstated", back))
        }
        @if f.state == State::Removed { (action_form(f, csrf, "reinstated", "Reinstated (counter-notice)", back)) }
        @if f.state == State::Dismissed { (action_form(f, csrf, "reopen", "Reopen", back)) }
    }
}

/// What the queue page shows.
pub struct QueueView<'a> {
    /// The findings on this page with their listings.
    pub rows: Vec<(FindingRecord, Option<StoredListing>)>,
    /// The filter form's values.
    pub state: &'a str,
    /// Mark filter.
    pub mark: &'a str,
    /// Seller filter.
    pub seller: &'a str,
    /// Score filter.
    pub min_score: &'a str,
    /// This page's URL (to come back to after an action).
    pub back: &'a str,
    /// The URL of the next page.
    pub next_url: Option<String>,
    /// The queue's figures.
    pub stats: Option<crate::store::QueueStats>,
    /// Now (RFC 3339), for telling which claims hold.
    pub now: String,
    /// Flood groups held out of the queue.
    pub held: Vec<crate::review::FloodGroup>,
}

/// The flood groups held out of the queue, each released or rejected at once.
fn held_groups(groups: &[crate::review::FloodGroup], csrf: &str) -> Markup {
    html! {
        @if !groups.is_empty() {
            section #floods {
                h2 { "Held: sudden floods" }
                @for g in groups {
                    div.flood data-id=(g.id) {
                        p { strong { (g.findings) " findings" } " of " code { (g.cause) } " since " (g.since) ". " (g.reason) }
                        form method="post" action={ "/floods/" (g.id) "/release" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Release to the queue" }
                        }
                        form method="post" action={ "/floods/" (g.id) "/reject" } {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Reject (dismiss all)" }
                        }
                    }
                }
            }
        }
    }
}

/// `3 h 05 min`, `12 min`, `40 s`.
fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=172_799 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        _ => format!("{} days", s / 86_400),
    }
}

/// The queue's figures in one line.
fn figures(stats: &crate::store::QueueStats) -> Markup {
    html! {
        p #figures {
            "Open: " strong { (stats.open) }
            " (claimed " (stats.claimed) ")"
            @if let Some(o) = &stats.oldest_open {
                " · oldest waiting " a href={ "/findings/" (o.id) } { (age(o.age_seconds)) }
            }
            " · "
            @for (i, (state, n)) in stats.counts.iter().enumerate() {
                @if i > 0 { ", " }
                (state) " " (n)
            }
        }
    }
}

/// "claimed by X" while a claim holds.
fn claim_badge(f: &FindingRecord, now: &str) -> Markup {
    html! {
        @if let Some(c) = f.claim.as_ref().filter(|c| c.holds_at(now)) {
            " " span.badge.claim title={ "until " (c.until) } { "claimed by " (c.by) }
        }
    }
}

/// The review queue, highest score first.
pub fn queue(name: &str, csrf: &str, v: &QueueView<'_>) -> Markup {
    layout(
        "Queue",
        Some((name, csrf)),
        html! {
            h1 { "Review queue" }
            @if let Some(stats) = &v.stats { (figures(stats)) }
            (held_groups(&v.held, csrf))
            form.filters method="get" action="/queue" {
                label { "State "
                    select name="state" {
                        option value="open" selected[v.state == "open"] { "open (new, in review, reopened)" }
                        option value="" selected[v.state.is_empty()] { "any" }
                        @for s in crate::review::ALL_STATES {
                            option value=(s.as_str()) selected[v.state == s.as_str()] { (s.as_str()) }
                        }
                    }
                }
                label { "Mark " input name="mark" value=(v.mark); }
                label { "Seller " input name="seller" value=(v.seller); }
                label { "Min score " input name="min_score" value=(v.min_score) size="4"; }
                button type="submit" { "Filter" }
            }
            p.hint { "Keys: j/k move, c confirm, d dismiss, Enter open." }
            @if v.rows.is_empty() {
                p.empty { "Nothing to review." }
            } @else {
                form #bulk method="post" action="/bulk" {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="back" value=(v.back);
                    label { "Selected: "
                        select name="action" {
                            option value="confirm" { "Confirm" }
                            option value="dismiss" { "Dismiss" }
                            option value="escalate" { "Escalate" }
                        }
                    }
                    label { " Reason (dismissals): "
                        select name="reason" {
                            option value="" { "no reason" }
                            @for r in ALL_REASONS { option value=(r.as_str()) { (r.label()) } }
                        }
                    }
                    button type="submit" { "Apply to selected" }
                }
                table.queue {
                    thead { tr { th {} th { "Score" } th { "Mark" } th { "Listing" } th { "Seller" } th { "State" } th { "Actions" } } }
                    tbody {
                        @for (f, l) in &v.rows {
                            tr.finding data-id=(f.id) data-href={ "/findings/" (f.id) } {
                                td { input type="checkbox" name="sel" value={ (f.id) ":" (f.version) } form="bulk" aria-label="select"; }
                                td.score { (format!("{:.2}", f.score)) }
                                td { (f.mark) }
                                td.title {
                                    a href={ "/findings/" (f.id) } {
                                        @match l { Some(l) => (highlighted(&l.listing.title, f)), None => (f.listing_id) }
                                    }
                                    @if f.relist_of.is_some() { " " span.badge title=[f.relist_rule.as_deref()] { "relist" } }
                                    @if !f.notices.is_empty() { " " span.badge.notice { "notice" } }
                                    (claim_badge(f, &v.now))
                                }
                                td { @if let Some(s) = &f.seller_id { a href=(seller_href(s)) { (s) } } }
                                td { (f.state.as_str()) }
                                td.actions { (actions(f, csrf, v.back)) }
                            }
                        }
                    }
                }
                @if let Some(url) = &v.next_url { p { a rel="next" href=(url) { "Next page" } } }
            }
        },
    )
}

/// Who holds the finding, and the button to claim it or let it go.
fn claim_form(f: &FindingRecord, csrf: &str, me: &str, now: &str) -> Markup {
    let held = f.claim.as_ref().filter(|c| c.holds_at(now));
    html! {
        form.claim method="post" action={ "/findings/" (f.id) "/claim" } {
            input type="hidden" name="csrf" value=(csrf);
            @match held {
                Some(c) if c.by == me => {
                    span #claim { "Claimed by you until " (c.until) " " }
                    input type="hidden" name="release" value="1";
                    button type="submit" { "Release" }
                }
                Some(c) => { span #claim { "Claimed by " (c.by) " until " (c.until) } }
                None => { button type="submit" { "Claim" } }
            }
        }
    }
}

/// The public notice form (DSA Article 16): who notifies, which mark, which
/// listings, why, and the good-faith statement.
pub fn notice_form(
    csrf: &str,
    marks: &[(String, String)],
    error: Option<&str>,
    kept: Option<&NoticeFormValues>,
) -> Markup {
    let v = kept.cloned().unwrap_or_default();
    layout(
        "Report an infringement",
        None,
        html! {
            h1 { "Report a listing that infringes a trademark" }
            p.hint { "A notice under Article 16 of the EU Digital Services Act. Each field is required." }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form #notice method="post" action="/notice" {
                input type="hidden" name="csrf" value=(csrf);
                label for="name" { "Your name" }
                input #name name="name" value=(v.name) required maxlength="200";
                label for="email" { "Your e-mail address" }
                input #email type="email" name="email" value=(v.email) required maxlength="254";
                label for="mark_id" { "The trademark infringed" }
                select #mark_id name="mark_id" required {
                    @for (id, name) in marks { option value=(id) selected[v.mark_id == *id] { (name) } }
                }
                label for="urls" { "The listings' exact addresses (one URL per line, at most 100)" }
                textarea #urls name="urls" rows="5" required { (v.urls) }
                label for="explanation" { "Why these listings infringe the trademark" }
                textarea #explanation name="explanation" rows="5" required minlength="20" maxlength="5000" { (v.explanation) }
                label.check { input #good_faith type="checkbox" name="good_faith" value="on" checked[v.good_faith];
                    " I believe in good faith that the information and allegations in this notice are accurate and complete." }
                button type="submit" { "Send the notice" }
            }
        },
    )
}

/// What the notice form keeps when it is shown again with an error.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NoticeFormValues {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// E-mail.
    #[serde(default)]
    pub email: String,
    /// Mark id.
    #[serde(default)]
    pub mark_id: String,
    /// URLs, one per line.
    #[serde(default)]
    pub urls: String,
    /// Explanation.
    #[serde(default)]
    pub explanation: String,
    /// The good-faith box.
    #[serde(default, deserialize_with = "checkbox")]
    pub good_faith: bool,
    /// The form's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

fn checkbox<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v: String = serde::Deserialize::deserialize(d)?;
    Ok(!v.is_empty())
}

/// The acknowledgement of a notice: its id and the receipt to follow it with.
pub fn notice_received(record: &crate::review::NoticeRecord, receipt: &str) -> Markup {
    let status = format!("/api/v1/notices/{}?receipt={receipt}", record.id);
    layout(
        "Notice received",
        None,
        html! {
            h1 { "Notice received" }
            p { "Your notice " strong #notice-id { (record.id) } " was received at " (record.received_at)
                " and names " (record.items.len()) " listing(s). A reviewer will decide on each; the decision and the redress open against it are shown at:" }
            p { a #status href=(status) { (status) } }
            p.hint { "Keep this address: the receipt in it is shown only once." }
        },
    )
}

/// What the finding page shows beside the finding itself.
pub struct Related<'a> {
    /// Its audit history.
    pub history: &'a [AuditEntry],
    /// The seller's findings.
    pub seller_findings: &'a [FindingRecord],
    /// The feedback-bank entries its decisions made (`true`: positive bank).
    pub bank: &'a [(bool, BankEntry)],
}

/// One finding with its evidence, history and the seller's other findings.
pub fn finding(
    name: &str,
    csrf: &str,
    f: &FindingRecord,
    listing: Option<&StoredListing>,
    reference_images: usize,
    related: &Related<'_>,
) -> Markup {
    let Related {
        history,
        seller_findings,
        bank,
    } = *related;
    let back = format!("/findings/{}", f.id);
    layout(
        &f.mark,
        Some((name, csrf)),
        html! {
            h1 { (f.mark) " · score " (format!("{:.2}", f.score)) }
            p { "State: " strong #state { (f.state.as_str()) } " · version " (f.version)
                @if let Some(r) = &f.relist_of {
                    " · " span.badge { "relist" } " of " a href={ "/findings/" (r) } { (r) }
                    @if let Some(rule) = &f.relist_rule { " (" span.relist-rule { (rule) } ")" }
                } }
            @if let (Some(s), State::Dismissed) = (&f.suppressed, f.state) {
                p #suppressed { (s.to_string()) }
            }
            @if f.state.is_open() {
                (claim_form(f, csrf, name, &crate::review::now()))
            }
            div.actions { (actions(f, csrf, &back)) }
            @if !f.notices.is_empty() {
                h2 { "Notices" }
                ul #notices { @for n in &f.notices {
                    li { "Notice " code { (n.id) } " from " (n.notifier) " ("
                        (serde_json::to_value(n.source).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
                        ")" }
                } }
            }
            @if let Some(l) = listing {
                h2 { "Listing" }
                p.title { (highlighted(&l.listing.title, f)) }
                dl {
                    dt { "Listing id" } dd { (l.listing.id) }
                    @if let Some(u) = &l.listing.url { dt { "URL" } dd { (u) } }
                    @if let Some(m) = &l.listing.marketplace { dt { "Marketplace" } dd { (m) } }
                    @if let Some(s) = &l.listing.seller {
                        dt { "Seller" } dd { a href=(seller_href(&s.id)) { (s.id) } @if let Some(n) = &s.name { " (" (n) ")" } }
                    }
                    @if let Some(p) = &l.listing.price { dt { "Price" } dd { (p.amount) " " (p.currency) } }
                    dt { "Received" } dd { (l.received_at) }
                    dt { "SHA-256" } dd { code { (l.sha256) } }
                }
                (compare(f, l, reference_images))
                (boxes(f, l))
            }
            h2 { "Signals" }
            ul.signals { @for s in &f.signals { li { code { (s.kind.as_str()) } " " (format!("{:+.2}", s.weight)) " — " (s.detail) } } }
            (bank_entries(f, csrf, bank))
            h2 { "History" }
            table { thead { tr { th { "When" } th { "Who" } th { "Change" } th { "Note" } } }
                tbody { @for h in history { tr {
                    td { (h.at) } td { (h.actor) }
                    td { @if let Some(from) = h.from { (from.as_str()) " → " } (h.to.as_str()) " (" (format!("{:?}", h.action).to_lowercase()) ")" }
                    td { (h.note) }
                } } } }
            @if !seller_findings.is_empty() {
                h2 { "The seller's findings" }
                (findings_table(seller_findings))
            }
        },
    )
}

/// The listing's photo beside the reference image: for an image match, the photo
/// (or supplied hash) that matched and the reference image it matched; otherwise
/// the first photo and the mark's first reference image.
fn compare(f: &FindingRecord, l: &StoredListing, reference_images: usize) -> Markup {
    let matched: Option<PhotoEvidence> = f.signals.iter().find_map(|s| s.photo);
    // The photo as kept in the store when it was fetched: it stays after the shop
    // took it down, and the reviewer's browser asks nothing of the shop.
    let web = |u: &&String| u.starts_with("https://") || u.starts_with("http://");
    html! {
        div.compare {
            figure.listing-photo {
                @match matched {
                    Some(PhotoEvidence { image: Some(i), .. }) => {
                        @match photo_src(l, i) {
                            Some(src) => img src=(src) alt="listing photo" referrerpolicy="no-referrer";
                            None => p.empty { "Photo " (i + 1) " is not a web address; not shown." }
                        }
                        figcaption { "Listing photo " (i + 1) }
                    }
                    Some(PhotoEvidence { image_hash: Some(i), .. }) => {
                        p.empty { "The marketplace sent this photo's hash, not the photo: "
                            code.hash { (l.listing.image_hashes.get(i).map(|h| h.to_hex()).unwrap_or_default()) } }
                        figcaption { "Listing photo hash " (i + 1) }
                    }
                    _ => {
                        @if let Some(src) = l.photos.first().map(|p| format!("/photos/{}", p.sha256)) {
                            img src=(src) alt="listing photo";
                        } @else {
                            @match l.listing.images.iter().find(web) {
                                Some(u) => img src=(u) alt="listing photo" referrerpolicy="no-referrer";
                                None => p.empty { "No photo." }
                            }
                        }
                        figcaption { "Listing" }
                    }
                }
            }
            figure.reference-photo {
                @match matched {
                    Some(m) => {
                        img src={ "/marks/" (f.mark_id) "/image?n=" (m.reference) } alt="matched reference image";
                        figcaption { "Reference image " (m.reference + 1) " of " (f.mark) ", distance " (m.distance) }
                    }
                    None => {
                        @if reference_images > 0 {
                            img src={ "/marks/" (f.mark_id) "/image" } alt="reference image";
                        } @else { p.empty { "No reference image." } }
                        figcaption { "Reference: " (f.mark) }
                    }
                }
            }
        }
    }
}

/// Where a listing photo is shown from: the copy kept in the store when it was
/// fetched, else its web address (never a local path a listing names).
fn photo_src(l: &StoredListing, i: usize) -> Option<String> {
    l.photos
        .iter()
        .find(|p| p.index == i)
        .map(|p| format!("/photos/{}", p.sha256))
        .or_else(|| {
            l.listing
                .images
                .get(i)
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .cloned()
        })
}

/// Every logo, photo part and text found inside a listing photo: the photo with
/// the box drawn where it was found (beside the reference image it matched, for a
/// logo or a photo part), so the reviewer sees what the matcher saw. The box is an
/// SVG rectangle over the picture, in the photo's pixels as decoded: SVG
/// attributes, not inline style, which the Content-Security-Policy forbids.
fn boxes(f: &FindingRecord, l: &StoredListing) -> Markup {
    html! {
        @for found in f.signals.iter().filter_map(Found::of) {
            div.compare.found {
                (boxed_photo(photo_src(l, found.image), found.rect, found.size, &found.caption))
                @if let Some(n) = found.reference {
                    figure.reference-photo {
                        img src={ "/marks/" (f.mark_id) "/image?n=" (n) } alt="matched reference image";
                        figcaption { "Reference image " (n + 1) " of " (f.mark) }
                    }
                }
            }
        }
    }
}

/// What a signal found inside a listing photo, and where.
struct Found {
    /// The photo's position in the listing's `images`.
    image: usize,
    /// The box: x, y, width, height in the photo's pixels as decoded.
    rect: [u32; 4],
    /// The photo's size as decoded.
    size: [u32; 2],
    caption: String,
    /// The reference image matched, for a logo or a photo part.
    reference: Option<usize>,
}

impl Found {
    fn of(s: &Signal) -> Option<Found> {
        let kind = s.kind.as_str();
        if let Some(r) = &s.region {
            return Some(Found {
                image: r.image,
                rect: [r.x, r.y, r.w, r.h],
                size: [r.width, r.height],
                caption: format!(
                    "Listing photo {}: {kind}, {} correspondences",
                    r.image + 1,
                    r.inliers
                ),
                reference: Some(r.reference),
            });
        }
        s.text.as_ref().map(|t| Found {
            image: t.image,
            rect: [t.x, t.y, t.w, t.h],
            size: [t.width, t.height],
            caption: format!("Listing photo {}: {kind} \"{}\"", t.image + 1, t.text),
            reference: None,
        })
    }
}

/// A listing photo with a box drawn on it: `rect` is x, y, width, height in the
/// pixels of the photo as decoded, whose size is `size`.
fn boxed_photo(src: Option<String>, rect: [u32; 4], size: [u32; 2], caption: &str) -> Markup {
    let [w, h] = size.map(|v| v.max(1));
    let [x, y, bw, bh] = rect;
    // About two pixels wide once the photo is scaled to the 320-pixel frame.
    let stroke = (w.max(h) / 160).max(2);
    html! {
        figure.listing-photo.boxed {
            @match src {
                Some(src) => {
                    svg xmlns="http://www.w3.org/2000/svg" width="320" height="320"
                        viewBox=(format!("0 0 {w} {h}")) preserveAspectRatio="xMidYMid meet" role="img" {
                        title { (caption) }
                        image href=(src) x="0" y="0" width=(w) height=(h) {}
                        rect.found x=(x) y=(y) width=(bw) height=(bh)
                            fill="none" stroke="#e63946" stroke-width=(stroke) {}
                    }
                }
                None => p.empty { "The photo is not kept and not a web address; not shown." }
            }
            figcaption { (caption) }
        }
    }
}

/// The link to a seller's page: the id is a path segment, percent-encoded (an id
/// such as `../../api/v1/audit?x=` stays one segment).
fn seller_href(id: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/sellers/{}", encoded.replace('+', "%20"))
}

fn findings_table(findings: &[FindingRecord]) -> Markup {
    html! {
        table { thead { tr { th { "Score" } th { "Mark" } th { "Listing" } th { "State" } } }
            tbody { @for f in findings { tr {
                td { (format!("{:.2}", f.score)) } td { (f.mark) }
                td { a href={ "/findings/" (f.id) } { (f.listing_id) } }
                td { (f.state.as_str()) }
            } } } }
    }
}

/// Sellers, repeat infringers first.
pub fn sellers(name: &str, csrf: &str, items: &[SellerSummary]) -> Markup {
    layout(
        "Sellers",
        Some((name, csrf)),
        html! {
            h1 { "Sellers" }
            table { thead { tr { th { "Seller" } th { "Findings" } th { "Open" } th { "Infringing" } th { "Removed" } th { "Relists" } th { "Dismissed" } } }
                tbody { @for s in items { tr {
                    td { a href=(seller_href(&s.seller_id)) { (s.seller_id) } }
                    td { (s.findings) } td { (s.open) } td { (s.infringing) } td { (s.removed) } td { (s.relists) } td { (s.dismissed) }
                } } } }
        },
    )
}

/// One seller's findings.
pub fn seller(name: &str, csrf: &str, s: &SellerSummary, findings: &[FindingRecord]) -> Markup {
    layout(
        &s.seller_id,
        Some((name, csrf)),
        html! {
            h1 { "Seller " (s.seller_id) }
            p { (s.findings) " findings: " (s.open) " open, " (s.infringing) " infringing, "
                (s.removed) " removed, " (s.relists) " relists, " (s.dismissed) " dismissed." }
            (findings_table(findings))
        },
    )
}

/// A short error page.
pub fn error(status: u16, message: &str) -> Markup {
    layout(
        "Error",
        None,
        html! { h1 { "Error " (status) } p.error { (message) } p { a href="/queue" { "Back to the queue" } } },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seller_ids_stay_one_path_segment() {
        assert_eq!(seller_href("s1"), "/sellers/s1");
        assert_eq!(
            seller_href("../../api/v1/audit?x="),
            "/sellers/..%2F..%2Fapi%2Fv1%2Faudit%3Fx%3D"
        );
        assert_eq!(seller_href("a b"), "/sellers/a%20b");
    }
}
