//! The demo marketplace: a small, deterministic shop served over HTTP on 127.0.0.1,
//! built from the bundled sample listings, for `markhound demo` and the tests.
//!
//! It behaves like a real marketplace in the ways a crawler must cope with: result
//! pages with pagination (`/shop?page=N`), listing pages with schema.org Product
//! JSON-LD and CSS-marked fields (`/item/{id}`), product photos (`/images/{id}.png`:
//! some counterfeits show the brand's own product photo, the rest get a generated
//! picture), a robots.txt that disallows `/admin/`, slow pages, a page that always
//! fails (500), one that answers 429 with `Retry-After` on its first request, and a
//! malformed page.

use std::collections::HashMap;
use std::io::Cursor;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::listing::Listing;

/// Listings per result page.
pub const PAGE_SIZE: usize = 8;
/// The marketplace name of the demo shop.
pub const MARKETPLACE: &str = "sample-market";

/// How a counterfeit disguises the brand photo it took.
#[derive(Debug, Clone, Copy)]
enum Edit {
    /// Served as taken.
    AsTaken,
    /// Mirrored left to right.
    Mirror,
    /// Shrunk to 60 %.
    Shrink,
    /// Padded with a white border of a tenth of each side.
    Border,
    /// Turned a quarter to the right.
    Rotate,
}

/// Counterfeits whose photo is the brand's own product photo (`trademarks/images/`),
/// most of them edited the way copied photos are.
const STOLEN_PHOTOS: &[(&str, &str, Edit)] = &[
    ("fake-01", "zentrix-product.png", Edit::AsTaken),
    ("fake-04", "korvello-product.png", Edit::Mirror),
    ("fake-06", "velmora-product.png", Edit::Shrink),
    ("fake-10", "quvo-product.png", Edit::Border),
    ("fake-12", "ondaline-product.png", Edit::Rotate),
];

/// Applies `edit` to a PNG; the original bytes when it cannot be decoded.
fn edited_png(bytes: Vec<u8>, edit: Edit) -> Vec<u8> {
    use image::imageops;
    let Ok(img) = image::load_from_memory(&bytes) else {
        return bytes;
    };
    let img = img.to_rgb8();
    let out = match edit {
        Edit::AsTaken => return bytes,
        Edit::Mirror => imageops::flip_horizontal(&img),
        Edit::Shrink => imageops::resize(
            &img,
            img.width() * 3 / 5,
            img.height() * 3 / 5,
            imageops::FilterType::Triangle,
        ),
        Edit::Border => {
            let (w, h) = (img.width(), img.height());
            let mut canvas =
                image::RgbImage::from_pixel(w + w / 5, h + h / 5, image::Rgb([255, 255, 255]));
            imageops::overlay(&mut canvas, &img, i64::from(w / 10), i64::from(h / 10));
            canvas
        }
        Edit::Rotate => imageops::rotate90(&img),
    };
    let mut buf = Cursor::new(Vec::new());
    out.write_to(&mut buf, image::ImageFormat::Png)
        .expect("encoding a PNG in memory cannot fail");
    buf.into_inner()
}
/// The listing answered with 429 and `Retry-After: 1` on its first request.
const RATE_LIMITED: &str = "genuine-02";

/// The shop's data.
#[derive(Debug)]
pub struct Shop {
    listings: Vec<Listing>,
    images: Option<PathBuf>,
    hits: Mutex<HashMap<String, u32>>,
}

impl Shop {
    /// The shop of the bundled sample listings; `images` is the folder of the brands'
    /// photos (`trademarks/images`), if available.
    pub fn sample(images: Option<PathBuf>) -> Shop {
        Shop {
            listings: super::sample_listings(),
            images,
            hits: Mutex::new(HashMap::new()),
        }
    }

    fn hit(&self, key: &str) -> u32 {
        let mut hits = self.hits.lock().expect("hit counter lock");
        let n = hits.entry(key.to_owned()).or_default();
        *n += 1;
        *n
    }
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The routes of the shop.
pub fn router(shop: Arc<Shop>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/robots.txt", get(robots))
        .route("/shop", get(results))
        .route("/item/{id}", get(item))
        .route("/images/{file}", get(image))
        .route("/admin/{*rest}", get(admin))
        .with_state(shop)
}

async fn robots() -> &'static str {
    "User-agent: *\nDisallow: /admin/\n"
}

async fn home() -> Html<&'static str> {
    Html("<!doctype html><title>Sample Market</title><h1>Sample Market</h1><a href=\"/shop?page=1\">Shop</a> <a href=\"/admin/stats\">Admin</a>")
}

async fn admin() -> Html<&'static str> {
    Html("<!doctype html><p>staff only</p>")
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

async fn results(State(shop): State<Arc<Shop>>, Query(q): Query<PageQuery>) -> Html<String> {
    let page = q.page.unwrap_or(1).max(1);
    let pages = shop.listings.len().div_ceil(PAGE_SIZE);
    let mut html = format!(
        "<!doctype html><html><head><title>Sample Market: page {page}</title></head><body><h1>All products</h1><ul>"
    );
    for l in shop
        .listings
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
    {
        html += &format!(
            "<li><a class=\"listing\" href=\"/item/{}?utm_source=list\">{}</a></li>",
            esc(&l.id),
            esc(&l.title)
        );
    }
    if page == 1 {
        // The pages a crawler must survive.
        html += "<li><a class=\"listing\" href=\"/item/broken\">Broken</a></li>\
                 <li><a class=\"listing\" href=\"/item/malformed\">Malformed</a></li>\
                 <li><a class=\"listing\" href=\"/admin/secret\">Staff</a></li>";
    }
    html += "</ul>";
    if page < pages {
        html += &format!("<a rel=\"next\" href=\"/shop?page={}\">Next</a>", page + 1);
    }
    html += "</body></html>";
    Html(html)
}

async fn item(State(shop): State<Arc<Shop>>, Path(id): Path<String>) -> Response {
    match id.as_str() {
        "broken" => return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        "malformed" => {
            return Html(
                "<html><head><script type=\"application/ld+json\">{\"@type\": \"Product\", \"name\": </script>\
                 <body><h1 class=\"title\"></h1><div <p>unclosed",
            )
            .into_response()
        }
        _ => {}
    }
    let Some(l) = shop.listings.iter().find(|l| l.id == id) else {
        return (StatusCode::NOT_FOUND, "no such listing").into_response();
    };
    if id == RATE_LIMITED && shop.hit(&id) == 1 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            "slow down",
        )
            .into_response();
    }
    if id.starts_with("other-") {
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let mut offer = serde_json::json!({"@type": "Offer"});
    if let Some(p) = &l.price {
        offer["price"] = serde_json::json!(format!("{:.2}", p.amount));
        offer["priceCurrency"] = serde_json::json!(p.currency);
    }
    if let Some(s) = &l.seller {
        offer["seller"] = serde_json::json!({
            "@type": "Organization", "identifier": s.id, "name": s.name,
            "url": format!("/seller/{}", s.id),
        });
    }
    let mut product = serde_json::json!({
        "@context": "https://schema.org", "@type": "Product", "sku": l.id, "name": l.title,
        "image": [format!("/images/{}.png", l.id)], "offers": offer,
    });
    for (key, value) in [
        ("description", &l.description),
        ("brand", &l.brand),
        ("category", &l.category),
    ] {
        if let Some(v) = value {
            product[key] = serde_json::json!(v);
        }
    }
    // `</` cannot end the script early once escaped.
    let json = product.to_string().replace("</", "<\\/");
    let seller = l.seller.as_ref().map_or(String::new(), |s| {
        format!(
            "<p>Sold by <a class=\"seller\" href=\"/seller/{}\">{}</a></p>",
            esc(&s.id),
            esc(s.name.as_deref().unwrap_or(&s.id))
        )
    });
    Html(format!(
        "<!doctype html><html><head><title>{title}</title><link rel=\"canonical\" href=\"/item/{id}\">\
         <script type=\"application/ld+json\">{json}</script></head><body>\
         <h1 class=\"title\">{title}</h1><img class=\"photo\" src=\"/images/{id}.png\" alt=\"\">{seller}\
         <p class=\"description\">{desc}</p></body></html>",
        title = esc(&l.title),
        id = esc(&l.id),
        desc = esc(l.description.as_deref().unwrap_or("")),
    ))
    .into_response()
}

async fn image(State(shop): State<Arc<Shop>>, Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".png") else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    if !shop.listings.iter().any(|l| l.id == id) {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let stolen = STOLEN_PHOTOS.iter().find(|(l, _, _)| *l == id);
    if let (Some((_, photo, edit)), Some(dir)) = (stolen, &shop.images) {
        if let Ok(bytes) = tokio::fs::read(dir.join(photo)).await {
            let bytes = edited_png(bytes, *edit);
            return ([(header::CONTENT_TYPE, "image/png")], bytes).into_response();
        }
    }
    ([(header::CONTENT_TYPE, "image/png")], generated_png(id)).into_response()
}

/// A simple picture derived from the id: two colour bands, so distinct listings
/// get distinct photos.
pub fn generated_png(id: &str) -> Vec<u8> {
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let [r, g, b, r2, g2, b2, split, _] = h.to_le_bytes();
    let split = 16 + u32::from(split) % 32;
    let img = image::RgbImage::from_fn(64, 64, |x, y| {
        if (x + y) / 2 < split {
            image::Rgb([r, g, b])
        } else {
            image::Rgb([r2, g2, b2])
        }
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG in memory cannot fail");
    out.into_inner()
}

/// A running demo shop; stops when dropped.
#[derive(Debug)]
pub struct DemoServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DemoServer {
    /// Serves `shop` on 127.0.0.1 on a free port, on a thread of its own.
    pub fn start(shop: Shop) -> std::io::Result<DemoServer> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(Arc::new(shop));
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::error!("demo shop cannot listen: {e}");
                        return;
                    }
                };
                let server = axum::serve(listener, app).with_graceful_shutdown(async {
                    let _ = stopped.await;
                });
                if let Err(e) = server.await {
                    tracing::error!("demo shop stopped: {e}");
                }
            });
        });
        Ok(DemoServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A site profile for this shop.
    pub fn profile(&self) -> String {
        let base = self.base_url();
        let allow = regex::escape(&base);
        format!(
            "# Site profile of the markhound demo shop.\n\
             name = \"{MARKETPLACE}\"\n\
             start_urls = [\"{base}/shop?page=1\"]\n\
             allow = ['^{allow}/(shop|item|admin)']\n\
             listing_links = \"a.listing\"\n\
             next_page = \"a[rel=next]\"\n\n\
             [fields]\n\
             title = \"h1.title\"\n\
             seller_name = \"a.seller\"\n\
             seller_url = \"a.seller\"\n\
             images = \"img.photo\"\n"
        )
    }
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_photos_are_distinct_pngs() {
        let a = generated_png("fake-02");
        let b = generated_png("other-01");
        assert_ne!(a, b);
        assert!(image::load_from_memory(&a).is_ok());
    }

    #[test]
    fn profile_parses() {
        let s = DemoServer::start(Shop::sample(None)).unwrap();
        let p = crate::crawl::Profile::parse(&s.profile(), "demo").unwrap();
        assert!(p.allows(&url::Url::parse(&format!("{}/item/fake-01", s.base_url())).unwrap()));
        assert!(!p.allows(&url::Url::parse(&format!("{}/seller/x", s.base_url())).unwrap()));
    }
}
