use image::DynamicImage;
use markhound::image::*;
fn crop(img: &DynamicImage, percent: u32) -> DynamicImage {
    let (w, h) = (img.width(), img.height());
    let (cw, ch) = (w * percent / 100, h * percent / 100);
    img.crop_imm(cw * 2 / 3, ch * 2 / 3, w - cw, h - ch)
}
fn main() {
    let mut paths: Vec<String> = vec![
        "../shared/data/pdq-threatexchange/images/bridge-mods/aaa-orig.jpg".into(),
        "../shared/data/pdq-threatexchange/images/reg-test-input/pen-and-coaster.png".into(),
    ];
    for e in
        std::fs::read_dir("../shared/data/pdq-threatexchange/images/reg-test-input/labelme-subset")
            .unwrap()
    {
        paths.push(e.unwrap().path().display().to_string());
    }
    for e in std::fs::read_dir("trademarks/images").unwrap().take(8) {
        paths.push(e.unwrap().path().display().to_string());
    }
    for p in paths {
        let img = decode_path(std::path::Path::new(&p), &Limits::DEFAULT).unwrap();
        let c5 = pdq_hash(&crop(&img, 5)).hash;
        let c15 = pdq_hash(&crop(&img, 15)).hash;
        let mut s = String::new();
        for pc in [97u8, 95, 92, 90, 87, 85, 82, 80] {
            let r = pdq_hash(&centre_crop(&img, pc)).hash;
            s += &format!(" {pc}:{}/{}", c5.hamming(&r), c15.hamming(&r));
        }
        let mirror = pdq_hash(&img.fliph()).hash;
        let mq = pdq_hash_dihedral(&img.fliph())[0].hash;
        println!(
            "{} {}x{}{s} mirror-phys {}",
            p.rsplit('/').next().unwrap(),
            img.width(),
            img.height(),
            mirror.hamming(&mq)
        );
    }
}
