//! Draws the reference images of the bundled sample registry (`trademarks/images/`).
//!
//! `cargo run --example gen_reference_images` rewrites every image. The output is
//! deterministic: plain integer and float arithmetic, no randomness, no system fonts.
//! Each mark gets a product picture (a simple product shape on a gradient, with the
//! mark's emblem and name) and, for most marks, a logo card; shapes, colours and
//! layout differ per mark so that perceptual hashes of different marks differ.
//!
//! The few drawing primitives are written here rather than taken from `imageproc`,
//! which would pull a linear-algebra stack into every test build for this one-off
//! generator. Text uses the public-domain 8×8 bitmap font of the `font8x8` crate.

use std::path::Path;

use font8x8::UnicodeFonts;
use image::{Rgb, RgbImage};

/// Side of every image, in pixels.
const SIZE: u32 = 256;

type Color = [u8; 3];

/// What a mark sells, which decides the product drawing.
#[derive(Clone, Copy)]
enum Product {
    Sneaker,
    Handbag,
    RoundWatch,
    SquareWatch,
    Earbuds,
    Phone,
    Notebook,
    Bottle,
    Brick,
    Perfume,
    Jacket,
    Camera,
    Sunglasses,
    Bicycle,
}

/// The geometric emblem of a mark.
#[derive(Clone, Copy)]
enum Emblem {
    Chevrons,
    Rings,
    Star,
    Diamond,
    Triangles,
    Bars,
    Hexagon,
    Wave,
    Cross,
    Crescent,
    Stripes,
    Dots,
    Arrow,
    Sun,
}

/// One mark's drawing recipe.
struct Recipe {
    id: &'static str,
    name: &'static str,
    product: Product,
    emblem: Emblem,
    /// Gradient start, gradient end, product colour, accent colour.
    palette: [Color; 4],
    /// Whether the mark also gets a logo card.
    logo: bool,
}

const RECIPES: &[Recipe] = &[
    Recipe {
        id: "zentrix",
        name: "Zentrix",
        product: Product::Sneaker,
        emblem: Emblem::Chevrons,
        palette: [[20, 40, 90], [60, 150, 220], [245, 245, 240], [230, 60, 40]],
        logo: true,
    },
    Recipe {
        id: "korvello",
        name: "Korvello",
        product: Product::Handbag,
        emblem: Emblem::Diamond,
        palette: [
            [240, 225, 200],
            [190, 150, 110],
            [120, 60, 30],
            [212, 175, 55],
        ],
        logo: true,
    },
    Recipe {
        id: "velmora",
        name: "Velmora",
        product: Product::RoundWatch,
        emblem: Emblem::Crescent,
        palette: [[10, 10, 30], [70, 60, 110], [200, 200, 210], [212, 175, 55]],
        logo: true,
    },
    Recipe {
        id: "quvo",
        name: "Quvo",
        product: Product::Earbuds,
        emblem: Emblem::Rings,
        palette: [
            [255, 255, 255],
            [200, 230, 210],
            [30, 30, 30],
            [0, 180, 120],
        ],
        logo: true,
    },
    Recipe {
        id: "zvk",
        name: "ZVK",
        product: Product::Phone,
        emblem: Emblem::Bars,
        palette: [[255, 120, 0], [255, 200, 60], [25, 25, 35], [255, 255, 255]],
        logo: true,
    },
    Recipe {
        id: "copper-finch",
        name: "Copper Finch",
        product: Product::Notebook,
        emblem: Emblem::Triangles,
        palette: [
            [250, 240, 225],
            [230, 200, 170],
            [184, 115, 51],
            [40, 70, 60],
        ],
        logo: true,
    },
    Recipe {
        id: "ondaline",
        name: "Ondaline",
        product: Product::Bottle,
        emblem: Emblem::Wave,
        palette: [
            [255, 230, 240],
            [220, 180, 230],
            [250, 250, 255],
            [150, 60, 130],
        ],
        logo: true,
    },
    Recipe {
        id: "trevallion",
        name: "Trevallion",
        product: Product::SquareWatch,
        emblem: Emblem::Cross,
        palette: [[0, 60, 50], [0, 20, 15], [180, 180, 170], [200, 30, 50]],
        logo: false,
    },
    Recipe {
        id: "pexaro",
        name: "Pexaro",
        product: Product::Brick,
        emblem: Emblem::Dots,
        palette: [
            [255, 240, 60],
            [120, 200, 255],
            [220, 30, 30],
            [20, 60, 200],
        ],
        logo: true,
    },
    Recipe {
        id: "mirelune",
        name: "Mirelune",
        product: Product::Perfume,
        emblem: Emblem::Star,
        palette: [
            [40, 0, 60],
            [160, 80, 160],
            [230, 190, 220],
            [255, 215, 120],
        ],
        logo: false,
    },
    Recipe {
        id: "lark-meadow",
        name: "Lark Meadow",
        product: Product::Jacket,
        emblem: Emblem::Arrow,
        palette: [[200, 230, 180], [90, 140, 70], [200, 120, 40], [30, 50, 30]],
        logo: true,
    },
    Recipe {
        id: "brumaq",
        name: "Brumaq",
        product: Product::Camera,
        emblem: Emblem::Hexagon,
        palette: [[90, 90, 100], [200, 200, 205], [30, 30, 30], [0, 140, 255]],
        logo: true,
    },
    Recipe {
        id: "sollarin",
        name: "Sollarin",
        product: Product::Sunglasses,
        emblem: Emblem::Sun,
        palette: [[255, 180, 80], [255, 90, 60], [20, 20, 20], [255, 240, 150]],
        logo: false,
    },
    Recipe {
        id: "vantelo",
        name: "Vantelo",
        product: Product::Bicycle,
        emblem: Emblem::Stripes,
        palette: [
            [230, 240, 250],
            [150, 180, 210],
            [200, 20, 60],
            [20, 30, 60],
        ],
        logo: true,
    },
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("trademarks/images");
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|ext| ext == "png") {
            std::fs::remove_file(&path)?;
        }
    }
    for recipe in RECIPES {
        save(
            &product_image(recipe),
            &dir.join(format!("{}-product.png", recipe.id)),
        )?;
        if recipe.logo {
            save(
                &logo_image(recipe),
                &dir.join(format!("{}-logo.png", recipe.id)),
            )?;
        }
    }
    println!(
        "wrote the images of {} marks to {}",
        RECIPES.len(),
        dir.display()
    );
    Ok(())
}

fn save(img: &RgbImage, path: &Path) -> Result<(), image::ImageError> {
    img.save(path)
}

/// A product photo: gradient backdrop, product, emblem in a corner, name below.
fn product_image(r: &Recipe) -> RgbImage {
    let [bg0, bg1, body, accent] = r.palette;
    let mut img = RgbImage::new(SIZE, SIZE);
    gradient(&mut img, bg0, bg1, true);
    // A soft floor shadow makes it read as a photo of an object.
    fill(&mut img, shade(bg1, 0.7), |x, y| {
        ellipse(x, y, 128.0, 196.0, 90.0, 12.0)
    });
    draw_product(&mut img, r.product, body, accent);
    draw_emblem(&mut img, r.emblem, 36.0, 36.0, 22.0, accent);
    let backdrop = *img.get_pixel(8, 230);
    let ink = legible([accent, body, [15, 15, 15], [250, 250, 250]], backdrop.0);
    draw_text(&mut img, r.name, 222, ink);
    img
}

/// A logo card: large emblem, a frame, the name in a band.
fn logo_image(r: &Recipe) -> RgbImage {
    let [bg0, _, body, accent] = r.palette;
    let mut img = RgbImage::new(SIZE, SIZE);
    gradient(&mut img, accent, shade(accent, 0.55), false);
    fill(&mut img, bg0, |x, y| {
        rect(x, y, 10.0, 10.0, 246.0, 246.0) && !rect(x, y, 16.0, 16.0, 240.0, 240.0)
    });
    draw_emblem(&mut img, r.emblem, 128.0, 100.0, 64.0, bg0);
    fill(&mut img, body, |x, y| rect(x, y, 16.0, 182.0, 240.0, 222.0));
    draw_text(
        &mut img,
        r.name,
        194,
        legible([accent, bg0, [250, 250, 250]], body),
    );
    img
}

fn draw_product(img: &mut RgbImage, product: Product, body: Color, accent: Color) {
    let dark = shade(body, 0.6);
    match product {
        Product::Sneaker => {
            fill(img, body, |x, y| {
                polygon(
                    x,
                    y,
                    &[
                        (40., 170.),
                        (60., 110.),
                        (120., 100.),
                        (150., 130.),
                        (215., 145.),
                        (220., 170.),
                    ],
                )
            });
            fill(img, dark, |x, y| rect(x, y, 36.0, 168.0, 222.0, 184.0));
            for i in 0..4 {
                let x0 = 85.0 + 12.0 * f64::from(i);
                fill(img, accent, |x, y| {
                    segment(x, y, x0, 108.0, x0 + 14.0, 128.0, 2.5)
                });
            }
            fill(img, accent, |x, y| {
                polygon(
                    x,
                    y,
                    &[(110., 150.), (190., 140.), (200., 158.), (120., 162.)],
                )
            });
        }
        Product::Handbag => {
            fill(img, body, |x, y| {
                ring(x, y, 128.0, 95.0, 34.0, 44.0) && y < 95.0
            });
            fill(img, body, |x, y| {
                polygon(x, y, &[(60., 95.), (196., 95.), (215., 190.), (41., 190.)])
            });
            fill(img, dark, |x, y| {
                polygon(x, y, &[(60., 95.), (196., 95.), (190., 130.), (66., 130.)])
            });
            fill(img, accent, |x, y| circle(x, y, 128.0, 130.0, 8.0));
        }
        Product::RoundWatch => {
            fill(img, dark, |x, y| rect(x, y, 106.0, 24.0, 150.0, 208.0));
            fill(img, accent, |x, y| circle(x, y, 128.0, 128.0, 62.0));
            fill(img, body, |x, y| circle(x, y, 128.0, 128.0, 54.0));
            for i in 0..12 {
                let a = f64::from(i) * std::f64::consts::TAU / 12.0;
                let (s, c) = a.sin_cos();
                fill(img, dark, |x, y| {
                    segment(
                        x,
                        y,
                        128.0 + 44.0 * c,
                        128.0 + 44.0 * s,
                        128.0 + 52.0 * c,
                        128.0 + 52.0 * s,
                        2.0,
                    )
                });
            }
            fill(img, dark, |x, y| {
                segment(x, y, 128.0, 128.0, 128.0, 88.0, 3.0)
            });
            fill(img, dark, |x, y| {
                segment(x, y, 128.0, 128.0, 160.0, 140.0, 3.0)
            });
        }
        Product::SquareWatch => {
            fill(img, dark, |x, y| rect(x, y, 100.0, 24.0, 156.0, 208.0));
            fill(img, accent, |x, y| {
                rounded_rect(x, y, 70.0, 70.0, 186.0, 186.0, 18.0)
            });
            fill(img, body, |x, y| {
                rounded_rect(x, y, 80.0, 80.0, 176.0, 176.0, 12.0)
            });
            fill(img, dark, |x, y| {
                segment(x, y, 128.0, 128.0, 128.0, 92.0, 3.0)
            });
            fill(img, dark, |x, y| {
                segment(x, y, 128.0, 128.0, 100.0, 150.0, 3.0)
            });
            fill(img, accent, |x, y| circle(x, y, 128.0, 128.0, 5.0));
        }
        Product::Earbuds => {
            fill(img, body, |x, y| {
                rounded_rect(x, y, 60.0, 120.0, 196.0, 190.0, 30.0)
            });
            fill(img, shade(body, 1.8), |x, y| {
                segment(x, y, 64.0, 150.0, 192.0, 150.0, 1.5)
            });
            for cx in [95.0, 161.0] {
                fill(img, body, |x, y| circle(x, y, cx, 90.0, 24.0));
                fill(img, accent, |x, y| circle(x, y, cx, 90.0, 10.0));
                fill(img, body, |x, y| {
                    rect(x, y, cx - 6.0, 90.0, cx + 6.0, 125.0)
                });
            }
        }
        Product::Phone => {
            fill(img, body, |x, y| {
                rounded_rect(x, y, 80.0, 30.0, 176.0, 210.0, 16.0)
            });
            fill(img, accent, |x, y| rect(x, y, 88.0, 48.0, 168.0, 188.0));
            fill(img, shade(accent, 0.8), |x, y| {
                polygon(x, y, &[(88., 188.), (168., 48.), (168., 188.)])
            });
            fill(img, shade(body, 2.5), |x, y| {
                circle(x, y, 128.0, 199.0, 5.0)
            });
        }
        Product::Notebook => {
            fill(img, body, |x, y| rect(x, y, 64.0, 40.0, 200.0, 200.0));
            fill(img, [250, 250, 245], |x, y| {
                rect(x, y, 74.0, 50.0, 190.0, 190.0)
            });
            for i in 0..8 {
                let yy = 66.0 + 16.0 * f64::from(i);
                fill(img, [170, 190, 220], |x, y| {
                    segment(x, y, 82.0, yy, 182.0, yy, 1.0)
                });
                fill(img, accent, |x, y| ring(x, y, 64.0, yy, 4.0, 7.0));
            }
            fill(img, accent, |x, y| {
                segment(x, y, 150.0, 200.0, 210.0, 60.0, 5.0)
            });
        }
        Product::Bottle => {
            fill(img, accent, |x, y| rect(x, y, 110.0, 30.0, 146.0, 70.0));
            fill(img, body, |x, y| {
                rounded_rect(x, y, 84.0, 66.0, 172.0, 196.0, 22.0)
            });
            fill(img, shade(accent, 1.3), |x, y| {
                rect(x, y, 96.0, 110.0, 160.0, 160.0)
            });
        }
        Product::Brick => {
            fill(img, body, |x, y| rect(x, y, 48.0, 110.0, 208.0, 190.0));
            fill(img, dark, |x, y| rect(x, y, 48.0, 176.0, 208.0, 190.0));
            for i in 0..4 {
                let cx = 68.0 + 40.0 * f64::from(i);
                fill(img, body, |x, y| {
                    rect(x, y, cx - 13.0, 94.0, cx + 13.0, 110.0)
                });
                fill(img, shade(body, 1.3), |x, y| {
                    ellipse(x, y, cx, 94.0, 13.0, 5.0)
                });
            }
        }
        Product::Perfume => {
            fill(img, accent, |x, y| circle(x, y, 128.0, 52.0, 18.0));
            fill(img, dark, |x, y| rect(x, y, 118.0, 64.0, 138.0, 92.0));
            fill(img, body, |x, y| ellipse(x, y, 128.0, 145.0, 62.0, 55.0));
            fill(img, shade(body, 1.15), |x, y| {
                ellipse(x, y, 110.0, 128.0, 18.0, 26.0)
            });
        }
        Product::Jacket => {
            fill(img, body, |x, y| {
                polygon(
                    x,
                    y,
                    &[
                        (100., 40.),
                        (156., 40.),
                        (210., 70.),
                        (226., 170.),
                        (196., 176.),
                        (186., 110.),
                        (182., 210.),
                        (74., 210.),
                        (70., 110.),
                        (60., 176.),
                        (30., 170.),
                        (46., 70.),
                    ],
                )
            });
            fill(img, accent, |x, y| {
                segment(x, y, 128.0, 48.0, 128.0, 210.0, 2.5)
            });
            fill(img, dark, |x, y| {
                polygon(x, y, &[(100., 40.), (128., 70.), (156., 40.)])
            });
        }
        Product::Camera => {
            fill(img, body, |x, y| {
                rounded_rect(x, y, 40.0, 80.0, 216.0, 190.0, 14.0)
            });
            fill(img, body, |x, y| rect(x, y, 90.0, 62.0, 140.0, 84.0));
            fill(img, shade(body, 3.0), |x, y| {
                circle(x, y, 128.0, 136.0, 44.0)
            });
            fill(img, body, |x, y| circle(x, y, 128.0, 136.0, 36.0));
            fill(img, accent, |x, y| circle(x, y, 128.0, 136.0, 20.0));
            fill(img, [250, 250, 250], |x, y| circle(x, y, 120.0, 128.0, 5.0));
            fill(img, accent, |x, y| rect(x, y, 180.0, 92.0, 204.0, 104.0));
        }
        Product::Sunglasses => {
            fill(img, body, |x, y| {
                segment(x, y, 30.0, 110.0, 226.0, 110.0, 4.0)
            });
            for cx in [82.0, 174.0] {
                fill(img, body, |x, y| ellipse(x, y, cx, 132.0, 44.0, 34.0));
                fill(img, shade(accent, 0.35), |x, y| {
                    ellipse(x, y, cx, 132.0, 38.0, 28.0)
                });
                fill(img, shade(accent, 0.6), |x, y| {
                    ellipse(x, y, cx - 12.0, 122.0, 10.0, 6.0)
                });
            }
            fill(img, body, |x, y| {
                segment(x, y, 120.0, 124.0, 136.0, 124.0, 4.0)
            });
        }
        Product::Bicycle => {
            for cx in [70.0, 186.0] {
                fill(img, dark, |x, y| ring(x, y, cx, 160.0, 34.0, 40.0));
                fill(img, dark, |x, y| circle(x, y, cx, 160.0, 4.0));
            }
            let frame = [
                (70., 160., 112., 160.),
                (112., 160., 150., 100.),
                (150., 100., 96., 100.),
                (96., 100., 70., 160.),
                (96., 100., 112., 160.),
                (150., 100., 186., 160.),
                (150., 100., 146., 84.),
                (96., 100., 92., 86.),
            ];
            for (x0, y0, x1, y1) in frame {
                fill(img, body, |x, y| segment(x, y, x0, y0, x1, y1, 4.0));
            }
            fill(img, accent, |x, y| rect(x, y, 82.0, 80.0, 104.0, 88.0));
            fill(img, accent, |x, y| {
                segment(x, y, 138.0, 84.0, 156.0, 84.0, 3.0)
            });
        }
    }
}

fn draw_emblem(img: &mut RgbImage, emblem: Emblem, cx: f64, cy: f64, r: f64, color: Color) {
    use std::f64::consts::{PI, TAU};
    match emblem {
        Emblem::Chevrons => {
            for k in 0..3 {
                let dy = r * (f64::from(k) * 0.6 - 0.6);
                fill(img, color, |x, y| {
                    segment(
                        x,
                        y,
                        cx - r,
                        cy + dy - r * 0.3,
                        cx,
                        cy + dy + r * 0.3,
                        r * 0.14,
                    ) || segment(
                        x,
                        y,
                        cx,
                        cy + dy + r * 0.3,
                        cx + r,
                        cy + dy - r * 0.3,
                        r * 0.14,
                    )
                });
            }
        }
        Emblem::Rings => {
            fill(img, color, |x, y| {
                ring(x, y, cx - r * 0.35, cy, r * 0.45, r * 0.6)
                    || ring(x, y, cx + r * 0.35, cy, r * 0.45, r * 0.6)
            });
        }
        Emblem::Star => {
            let points: Vec<(f64, f64)> = (0..10)
                .map(|i| {
                    let a = f64::from(i) * PI / 5.0 - PI / 2.0;
                    let rr = if i % 2 == 0 { r } else { r * 0.42 };
                    (cx + rr * a.cos(), cy + rr * a.sin())
                })
                .collect();
            fill(img, color, |x, y| polygon(x, y, &points));
        }
        Emblem::Diamond => {
            let d = [
                (cx, cy - r),
                (cx + r * 0.7, cy),
                (cx, cy + r),
                (cx - r * 0.7, cy),
            ];
            fill(img, color, |x, y| {
                polygon(x, y, &d) && !diamond_hole(x, y, cx, cy, r * 0.35)
            });
        }
        Emblem::Triangles => {
            for (dx, dy) in [(0.0, -0.45), (-0.5, 0.4), (0.5, 0.4)] {
                let (tx, ty) = (cx + dx * r, cy + dy * r);
                let s = r * 0.45;
                fill(img, color, |x, y| {
                    polygon(
                        x,
                        y,
                        &[(tx, ty - s), (tx + s, ty + s * 0.8), (tx - s, ty + s * 0.8)],
                    )
                });
            }
        }
        Emblem::Bars => {
            for k in 0..4 {
                let x0 = cx - r + f64::from(k) * r * 0.52;
                let h = r * (0.5 + 0.5 * f64::from(k) / 3.0) * 1.6;
                fill(img, color, |x, y| {
                    rect(x, y, x0, cy + r * 0.8 - h, x0 + r * 0.36, cy + r * 0.8)
                });
            }
        }
        Emblem::Hexagon => {
            let points: Vec<(f64, f64)> = (0..6)
                .map(|i| {
                    let a = f64::from(i) * TAU / 6.0;
                    (cx + r * a.cos(), cy + r * a.sin())
                })
                .collect();
            fill(img, color, |x, y| {
                polygon(x, y, &points) && !circle(x, y, cx, cy, r * 0.45)
            });
        }
        Emblem::Wave => {
            for k in 0..3 {
                let off = (f64::from(k) - 1.0) * r * 0.5;
                fill(img, color, |x, y| {
                    let wave = cy + off + (((x - cx) / r) * PI * 1.5).sin() * r * 0.18;
                    (x - cx).abs() <= r && (y - wave).abs() <= r * 0.1
                });
            }
        }
        Emblem::Cross => {
            fill(img, color, |x, y| {
                (rect(x, y, cx - r * 0.25, cy - r, cx + r * 0.25, cy + r)
                    || rect(x, y, cx - r, cy - r * 0.25, cx + r, cy + r * 0.25))
                    && !circle(x, y, cx, cy, r * 0.12)
            });
        }
        Emblem::Crescent => {
            fill(img, color, |x, y| {
                circle(x, y, cx, cy, r) && !circle(x, y, cx + r * 0.4, cy - r * 0.2, r * 0.8)
            });
        }
        Emblem::Stripes => {
            fill(img, color, |x, y| {
                circle(x, y, cx, cy, r)
                    && (((x + y) / (r * 0.35)).floor() as i64).rem_euclid(2) == 0
            });
        }
        Emblem::Dots => {
            for i in 0..3 {
                for j in 0..3 {
                    let (dx, dy) = (f64::from(i) - 1.0, f64::from(j) - 1.0);
                    fill(img, color, |x, y| {
                        circle(x, y, cx + dx * r * 0.65, cy + dy * r * 0.65, r * 0.22)
                    });
                }
            }
        }
        Emblem::Arrow => {
            fill(img, color, |x, y| {
                polygon(
                    x,
                    y,
                    &[
                        (cx - r, cy - r * 0.2),
                        (cx + r * 0.1, cy - r * 0.2),
                        (cx + r * 0.1, cy - r * 0.6),
                        (cx + r, cy),
                        (cx + r * 0.1, cy + r * 0.6),
                        (cx + r * 0.1, cy + r * 0.2),
                        (cx - r, cy + r * 0.2),
                    ],
                )
            });
        }
        Emblem::Sun => {
            fill(img, color, |x, y| circle(x, y, cx, cy, r * 0.5));
            for i in 0..8 {
                let (s, c) = (f64::from(i) * TAU / 8.0).sin_cos();
                fill(img, color, |x, y| {
                    segment(
                        x,
                        y,
                        cx + c * r * 0.65,
                        cy + s * r * 0.65,
                        cx + c * r,
                        cy + s * r,
                        r * 0.08,
                    )
                });
            }
        }
    }
}

/// The first colour that stands out against `backdrop` (the last one otherwise).
fn legible<const N: usize>(candidates: [Color; N], backdrop: Color) -> Color {
    let luma =
        |c: Color| 0.299 * f64::from(c[0]) + 0.587 * f64::from(c[1]) + 0.114 * f64::from(c[2]);
    candidates
        .iter()
        .copied()
        .find(|&c| (luma(c) - luma(backdrop)).abs() > 90.0)
        .unwrap_or(candidates[N - 1])
}

/// Draws `text` upper-cased in block letters, centred, from row `top`, as large as
/// fits in 208 pixels.
fn draw_text(img: &mut RgbImage, text: &str, top: u32, ink: Color) {
    let text = text.to_uppercase();
    let chars: Vec<char> = text.chars().collect();
    let len = u32::try_from(chars.len()).unwrap_or(u32::MAX).max(1);
    let scale = (208 / (8 * len)).clamp(1, 4);
    let width = len * 8 * scale;
    let left = (SIZE - width.min(SIZE)) / 2;
    let top = top.min(SIZE - 8 * scale);
    for (i, c) in chars.iter().enumerate() {
        let Some(glyph) = font8x8::BASIC_FONTS.get(*c) else {
            continue;
        };
        let x0 = left + u32::try_from(i).unwrap_or(0) * 8 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8u32 {
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let x = x0 + col * scale + dx;
                        let y = top + u32::try_from(row).unwrap_or(0) * scale + dy;
                        if x < SIZE && y < SIZE {
                            img.put_pixel(x, y, Rgb(ink));
                        }
                    }
                }
            }
        }
    }
}

/// Paints every pixel whose centre `inside` accepts.
fn fill(img: &mut RgbImage, color: Color, inside: impl Fn(f64, f64) -> bool) {
    for (x, y, pixel) in img.enumerate_pixels_mut() {
        if inside(f64::from(x) + 0.5, f64::from(y) + 0.5) {
            *pixel = Rgb(color);
        }
    }
}

fn gradient(img: &mut RgbImage, from: Color, to: Color, diagonal: bool) {
    let span = f64::from(SIZE - 1);
    for (x, y, pixel) in img.enumerate_pixels_mut() {
        let t = if diagonal {
            f64::from(x + y) / (2.0 * span)
        } else {
            f64::from(y) / span
        };
        *pixel = Rgb(std::array::from_fn(|i| {
            (f64::from(from[i]) * (1.0 - t) + f64::from(to[i]) * t).round() as u8
        }));
    }
}

/// `color` darkened (factor < 1) or lightened (factor > 1).
fn shade(color: Color, factor: f64) -> Color {
    color.map(|c| (f64::from(c) * factor).round().clamp(0.0, 255.0) as u8)
}

fn rect(x: f64, y: f64, x0: f64, y0: f64, x1: f64, y1: f64) -> bool {
    x >= x0 && x < x1 && y >= y0 && y < y1
}

fn rounded_rect(x: f64, y: f64, x0: f64, y0: f64, x1: f64, y1: f64, r: f64) -> bool {
    let cx = x.clamp(x0 + r, x1 - r);
    let cy = y.clamp(y0 + r, y1 - r);
    rect(x, y, x0, y0, x1, y1) && (x - cx).powi(2) + (y - cy).powi(2) <= r * r
}

fn circle(x: f64, y: f64, cx: f64, cy: f64, r: f64) -> bool {
    (x - cx).powi(2) + (y - cy).powi(2) <= r * r
}

fn ring(x: f64, y: f64, cx: f64, cy: f64, r0: f64, r1: f64) -> bool {
    circle(x, y, cx, cy, r1) && !circle(x, y, cx, cy, r0)
}

fn ellipse(x: f64, y: f64, cx: f64, cy: f64, rx: f64, ry: f64) -> bool {
    ((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2) <= 1.0
}

fn diamond_hole(x: f64, y: f64, cx: f64, cy: f64, r: f64) -> bool {
    (x - cx).abs() / 0.7 + (y - cy).abs() <= r
}

/// Within `half_width` of the segment from (x0, y0) to (x1, y1).
fn segment(x: f64, y: f64, x0: f64, y0: f64, x1: f64, y1: f64, half_width: f64) -> bool {
    let (dx, dy) = (x1 - x0, y1 - y0);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((x - x0) * dx + (y - y0) * dy) / len2).clamp(0.0, 1.0)
    };
    let (px, py) = (x0 + t * dx, y0 + t * dy);
    (x - px).powi(2) + (y - py).powi(2) <= half_width * half_width
}

/// Even-odd point-in-polygon test.
fn polygon(x: f64, y: f64, points: &[(f64, f64)]) -> bool {
    let mut inside = false;
    let mut j = points.len() - 1;
    for i in 0..points.len() {
        let (xi, yi) = points[i];
        let (xj, yj) = points[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}
