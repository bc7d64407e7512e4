//! Text inside photos: a wordmark printed on a product, a label, a box. Counterfeit
//! listings often leave the brand out of the title to pass text filters while the
//! photo shows it; the text read here goes to the title matcher like a title.
//!
//! The models are PaddleOCR's PP-OCRv4 text detector (DB, "differentiable
//! binarisation") and recogniser (CTC), in the ONNX form the PyPI wheel
//! `rapidocr-onnxruntime` ships (Apache-2.0), run with `tract-onnx` in pure Rust.
//! They are never downloaded at run time: `scripts/fetch-ocr-models.sh` puts them in
//! a folder ([`models_dir`]) once, and [`Ocr::load`] reads that folder.
//!
//! Reading a photo ([`Ocr::read`]):
//!
//! 1. **Detection.** The photo is scaled so that its longer side is at most
//!    [`OcrConfig::max_side`] pixels (never enlarged), each side rounded to a
//!    multiple of 32 as the network needs, normalised to -1..1 in BGR order (the
//!    models were trained on OpenCV's BGR images), placed at the top left of an
//!    input whose sides are rounded up to a multiple of [`DET_STEP`] pixels (at
//!    most `max_side`; the rest zero, the mean grey) and run through the detector,
//!    which gives each pixel a probability of being text. The input's shape is
//!    fixed per run because tract optimises a model for one shape: with the
//!    photo's own shape left open the detector cannot be analysed (its
//!    feature-pyramid sizes do not unify), and a model optimised for every new
//!    shape would cost a few tenths of a second each time; so each of the few
//!    rounded shapes is optimised once, when first needed, and kept.
//! 2. **Boxes** ([`boxes_from_map`], pure): the map is cut at [`DET_THRESHOLD`],
//!    dilated by one pixel, split into connected regions; each region's
//!    minimum-area rotated rectangle is kept when its mean probability reaches
//!    [`BOX_THRESHOLD`] and its short side [`MIN_BOX_SIDE`] pixels, then grown
//!    ("unclipped") by `area × UNCLIP_RATIO / perimeter` on every side, since the
//!    detector marks a shrunk core of each line. These are PaddleOCR's own
//!    post-processing values. The [`OcrConfig::max_lines`] largest boxes are read.
//! 3. **Recognition.** Each box is cut out of the photo along its own axes (so text
//!    turned up to ±90° is straightened; upside-down text is not read, nor
//!    vertical lines), scaled to a height of [`REC_HEIGHT`] pixels with its aspect
//!    kept (at most [`REC_WIDTH`] wide: a longer line is squeezed), padded to
//!    [`REC_WIDTH`] (fixed, for the reason above; PaddleOCR's own input size) and
//!    run through the recogniser, whose per-column character probabilities are decoded greedily
//!    ([`ctc_greedy`]): the most likely character of each column, repeats merged,
//!    blanks dropped. A line is kept when the mean probability of its characters
//!    reaches [`OcrConfig::min_confidence`].
//!
//! The models are loaded and optimised once ([`Ocr::load`]) and shared between
//! threads; each [`Ocr::read`] runs on the calling thread.

use std::path::{Path, PathBuf};

use image::{imageops::FilterType, DynamicImage, GrayImage, Luma, Rgb, RgbImage};
use imageproc::geometric_transformations::{warp_into, Interpolation, Projection};
use imageproc::point::Point;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{bail, EvalOp, Op, StaticName, TypedOp};

/// The environment variable naming the models' folder when `--ocr-models` is not
/// given.
pub const MODELS_ENV: &str = "MARKHOUND_OCR_MODELS";
/// The models' folder when neither `--ocr-models` nor [`MODELS_ENV`] names one:
/// where `scripts/fetch-ocr-models.sh` puts them, relative to the working folder.
pub const DEFAULT_MODELS_DIR: &str = "target/ocr-models";
/// The detector's file in the models' folder.
pub const DET_FILE: &str = "det.onnx";
/// The recogniser's file in the models' folder.
pub const REC_FILE: &str = "rec.onnx";
/// The recogniser's characters, one a line, in the order of its outputs (after
/// the CTC blank).
pub const KEYS_FILE: &str = "keys.txt";

/// A pixel of the detector's map is text at this probability (PaddleOCR's
/// `thresh`).
pub const DET_THRESHOLD: f32 = 0.3;
/// A region is a line of text when its mean probability reaches this (PaddleOCR's
/// `box_thresh`).
pub const BOX_THRESHOLD: f32 = 0.5;
/// How much a region's rectangle grows before it is cut out (PaddleOCR's
/// `unclip_ratio`).
pub const UNCLIP_RATIO: f32 = 1.6;
/// Regions whose rectangle is thinner than this, in pixels of the detector's
/// input, are noise (PaddleOCR's `min_size`).
pub const MIN_BOX_SIDE: f32 = 3.0;
/// The recogniser's input height in pixels.
pub const REC_HEIGHT: u32 = 48;
/// The recogniser's input width in pixels: a line longer than 6.7 times its
/// height is squeezed to it.
pub const REC_WIDTH: u32 = 320;
/// The longer side of the copy of the photo lines are cut from: crops of a
/// 12-megapixel photo scaled down to 48 pixels gain nothing from the full size.
const CROP_SIDE: u32 = 1600;

/// How much of a photo is read, and how surely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OcrConfig {
    /// The longest side of the detector's input, in pixels (a multiple of 32).
    /// The detector costs about the square of it; text smaller than about 8
    /// pixels high at this scale is not found.
    pub max_side: u32,
    /// Lines read per photo at most: the largest boxes first. Each costs a run
    /// of the recogniser.
    pub max_lines: usize,
    /// Lines whose characters' mean probability is lower are dropped.
    pub min_confidence: f32,
}

impl Default for OcrConfig {
    /// An 800-pixel detector input, 8 lines, confidence 0.5 (PaddleOCR's
    /// `text_score`). 800 pixels is the size marketplaces commonly serve a listing
    /// photo at, so such a photo is read at its own size: a print a few pixels
    /// high is not shrunk under the detector's reach (on the wordmark evaluation,
    /// 640 pixels lost a tenth of the names and saved a quarter of the time).
    fn default() -> OcrConfig {
        OcrConfig {
            max_side: 800,
            max_lines: 8,
            min_confidence: 0.5,
        }
    }
}

/// One line of text read in a photo.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// What it says.
    pub text: String,
    /// The mean probability of its characters (0..1).
    pub confidence: f32,
    /// The corners of the line's rotated box in the photo's pixels: top left, top
    /// right, bottom right, bottom left as read.
    pub quad: [[f32; 2]; 4],
    /// The upright box around [`TextLine::quad`], within the photo: x, y, width,
    /// height.
    pub bbox: [u32; 4],
}

/// Why the OCR could not be loaded or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcrError {
    /// The models' folder lacks a file.
    #[error(
        "no OCR models in {dir} ({file} is missing): run scripts/fetch-ocr-models.sh, \
         or name their folder with --ocr-models or {MODELS_ENV}"
    )]
    Missing {
        /// The folder looked in.
        dir: PathBuf,
        /// The file missing.
        file: &'static str,
    },
    /// A model file could not be read or prepared.
    #[error("cannot load the OCR model {path}")]
    Load {
        /// The model file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The character list does not fit the recogniser.
    #[error("{path}: {found} characters, the recognition model reads {expected}")]
    Keys {
        /// The character list.
        path: PathBuf,
        /// Characters in the file.
        found: usize,
        /// Characters the model's output has (without the blank and the space).
        expected: usize,
    },
    /// A model failed on a photo.
    #[error("the OCR model failed")]
    Run(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<TractError> for OcrError {
    fn from(e: TractError) -> OcrError {
        OcrError::Run(e.into())
    }
}

/// The models' folder: `explicit` (from `--ocr-models`), else [`MODELS_ENV`],
/// else [`DEFAULT_MODELS_DIR`].
pub fn models_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_owned();
    }
    match std::env::var_os(MODELS_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(DEFAULT_MODELS_DIR),
    }
}

type Plan = TypedRunnableModel<TypedModel>;

/// The loaded detector and recogniser, ready to read photos from any thread.
pub struct Ocr {
    /// The detector optimised for each input shape used so far
    /// ([`det_input`]), the `max_side` square from the start.
    det: std::sync::Mutex<std::collections::HashMap<(u32, u32), std::sync::Arc<Plan>>>,
    rec: Plan,
    /// The recogniser's classes: index 0 is the CTC blank, then the characters
    /// of the keys file, then a space.
    classes: Vec<String>,
    config: OcrConfig,
    dir: PathBuf,
}

impl std::fmt::Debug for Ocr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ocr")
            .field("dir", &self.dir)
            .field("classes", &self.classes.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Loads an ONNX model with its first input's `shape` fixed and optimises it
/// once.
fn load_plan(path: &Path, shape: impl FnOnce() -> TVec<TDim>) -> Result<Plan, OcrError> {
    load_model(path, shape, true)
}

/// [`load_plan`], with or without [`repeat_upsampling`] (the tests compare both).
fn load_model(
    path: &Path,
    shape: impl FnOnce() -> TVec<TDim>,
    rewrite: bool,
) -> Result<Plan, OcrError> {
    let load = || -> TractResult<Plan> {
        let onnx = tract_onnx::onnx();
        let proto = onnx.proto_model_for_path(path)?;
        let repeats = if rewrite {
            nearest_repeat_resizes(&proto)
        } else {
            Vec::new()
        };
        let mut model = onnx.model_for_proto_model(&proto)?;
        let dims = shape();
        model.set_input_fact(0, f32::fact(dims).into())?;
        let mut model = model.into_typed()?;
        repeat_upsampling(&mut model, &repeats)?;
        model.into_optimized()?.into_runnable()
    };
    load().map_err(|e| OcrError::Load {
        path: path.to_owned(),
        source: e.into(),
    })
}

/// The names of the ONNX `Resize` nodes that repeat each pixel: nearest
/// neighbour, "asymmetric" coordinates, rounded down (the feature-pyramid
/// upsampling of PP-OCR's detector). With a whole scale, output pixel `y` is input
/// pixel `floor(y / scale)`.
fn nearest_repeat_resizes(proto: &tract_onnx::pb::ModelProto) -> Vec<String> {
    let Some(graph) = &proto.graph else {
        return Vec::new();
    };
    graph
        .node
        .iter()
        .filter(|n| n.op_type == "Resize")
        .filter(|n| {
            let attr = |name: &str| {
                n.attribute
                    .iter()
                    .find(|a| a.name == name)
                    .map(|a| a.s.as_slice())
            };
            attr("mode").unwrap_or(b"nearest") == b"nearest"
                && attr("coordinate_transformation_mode") == Some(b"asymmetric")
                && attr("nearest_mode") == Some(b"floor")
        })
        .map(|n| n.name.clone())
        .collect()
}

/// Replaces each of the `Resize` nodes named in `repeats` whose scales are whole
/// numbers on the last two axes (and 1 on the others) by [`Repeat2d`], which gives
/// the same values: tract's generic `Resize` computes every output value through
/// n-dimensional indexing, and took 40 % of a photo's detection.
fn repeat_upsampling(model: &mut TypedModel, repeats: &[String]) -> TractResult<()> {
    for name in repeats {
        let Ok(id) = model.node_id_by_name(name) else {
            continue;
        };
        let node = model.node(id);
        let input = node.inputs[0];
        let fact = model.outlet_fact(input)?;
        if fact.datum_type != f32::datum_type() {
            continue;
        }
        let from = fact.shape.as_concrete().map(|s| s.to_vec());
        let to = node.outputs[0].fact.shape.as_concrete().map(|s| s.to_vec());
        let (Some(from), Some(to)) = (from, to) else {
            continue;
        };
        let [n, c, h, w] = from[..] else { continue };
        let [n2, c2, h2, w2] = to[..] else { continue };
        if (n2, c2) != (n, c) || h == 0 || w == 0 || h2 % h != 0 || w2 % w != 0 {
            continue;
        }
        let op = Repeat2d {
            down: h2 / h,
            across: w2 / w,
        };
        let mut patch = TypedModelPatch::default();
        let wire = patch.tap_model(model, input)?;
        let wire = patch.wire_node(format!("{name}.repeat"), op, &[wire])?[0];
        patch.shunt_outside(model, id.into(), wire)?;
        patch.apply(model)?;
    }
    Ok(())
}

/// Nearest-neighbour upsampling of an `[n, c, h, w]` f32 tensor by whole factors:
/// each value repeated `down` times down and `across` times across. Written here
/// because tract has no such operator: its `Resize` handles every mode through
/// per-value indexing, and a broadcast of a six-axis view (the other way to say it
/// in tract's operators) iterates value by value too; this copies rows.
#[derive(Debug, Clone, Hash)]
struct Repeat2d {
    down: usize,
    across: usize,
}

impl Op for Repeat2d {
    fn name(&self) -> StaticName {
        "Repeat2d".into()
    }

    fn as_typed(&self) -> Option<&dyn TypedOp> {
        Some(self)
    }
}

impl EvalOp for Repeat2d {
    fn is_stateless(&self) -> bool {
        true
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let [input] = &inputs[..] else {
            bail!("Repeat2d takes one input, got {}", inputs.len());
        };
        let [n, c, h, w] = *input.shape() else {
            bail!(
                "Repeat2d takes a tensor of four axes, got {:?}",
                input.shape()
            );
        };
        let (down, across) = (self.down, self.across);
        let (h2, w2) = (h * down, w * across);
        let src = input.as_slice::<f32>()?;
        let mut out = vec![0f32; n * c * h2 * w2];
        if h * w > 0 {
            for (plane, plane_out) in src.chunks_exact(h * w).zip(out.chunks_exact_mut(h2 * w2)) {
                for (row, rows_out) in plane
                    .chunks_exact(w)
                    .zip(plane_out.chunks_exact_mut(w2 * down))
                {
                    let (first, rest) = rows_out.split_at_mut(w2);
                    for (&v, cell) in row.iter().zip(first.chunks_exact_mut(across)) {
                        cell.fill(v);
                    }
                    for copy in rest.chunks_exact_mut(w2) {
                        copy.copy_from_slice(first);
                    }
                }
            }
        }
        let out = tract_ndarray::ArrayD::from_shape_vec(vec![n, c, h2, w2], out)?;
        Ok(tvec!(out.into_tensor().into_tvalue()))
    }
}

impl TypedOp for Repeat2d {
    fn as_op(&self) -> &dyn Op {
        self
    }

    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let [input] = inputs else {
            bail!("Repeat2d takes one input, got {}", inputs.len());
        };
        let [n, c, h, w] = &input.shape.to_tvec()[..] else {
            bail!(
                "Repeat2d takes a tensor of four axes, got {:?}",
                input.shape
            );
        };
        let shape = [
            n.clone(),
            c.clone(),
            h.clone() * self.down as i64,
            w.clone() * self.across as i64,
        ];
        Ok(tvec!(input.datum_type.fact(&shape)))
    }
}

impl Ocr {
    /// Loads [`DET_FILE`], [`REC_FILE`] and [`KEYS_FILE`] from `dir` and optimises
    /// the models for this machine (a second or two).
    pub fn load(dir: &Path, config: OcrConfig) -> Result<Ocr, OcrError> {
        for file in [DET_FILE, REC_FILE, KEYS_FILE] {
            if !dir.join(file).is_file() {
                return Err(OcrError::Missing {
                    dir: dir.to_owned(),
                    file,
                });
            }
        }
        let keys_path = dir.join(KEYS_FILE);
        let keys = std::fs::read_to_string(&keys_path).map_err(|e| OcrError::Load {
            path: keys_path.clone(),
            source: e.into(),
        })?;
        let mut classes = vec![String::new()];
        classes.extend(keys.lines().map(|l| l.trim_end_matches('\r').to_owned()));
        classes.push(" ".to_owned());
        let side = det_side(config.max_side);
        let square = det_plan(&dir.join(DET_FILE), side, side)?;
        let det = std::sync::Mutex::new(std::collections::HashMap::from([(
            (side, side),
            std::sync::Arc::new(square),
        )]));
        let rec = load_plan(&dir.join(REC_FILE), || {
            tvec![
                1.to_dim(),
                3.to_dim(),
                (REC_HEIGHT as usize).to_dim(),
                (REC_WIDTH as usize).to_dim()
            ]
        })?;
        let outputs = rec
            .model()
            .output_fact(0)
            .ok()
            .and_then(|f| f.shape.last().and_then(|d| d.to_i64().ok()))
            .and_then(|n| usize::try_from(n).ok());
        if let Some(outputs) = outputs {
            if outputs != classes.len() {
                return Err(OcrError::Keys {
                    path: keys_path,
                    found: classes.len() - 2,
                    expected: outputs.saturating_sub(2),
                });
            }
        }
        Ok(Ocr {
            det,
            rec,
            classes,
            config,
            dir: dir.to_owned(),
        })
    }

    /// The folder the models were loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How photos are read.
    pub fn config(&self) -> OcrConfig {
        self.config
    }

    /// The detector optimised for a `width` × `height` input: from the cache, or
    /// optimised now (a few tenths of a second, once per shape and process).
    fn det_for(&self, width: u32, height: u32) -> Result<std::sync::Arc<Plan>, OcrError> {
        let cached = self
            .det
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(width, height))
            .cloned();
        if let Some(plan) = cached {
            return Ok(plan);
        }
        // Optimised outside the lock: other photos go on meanwhile. Two threads
        // may both optimise a new shape; the second plan is dropped.
        let plan = std::sync::Arc::new(det_plan(&self.dir.join(DET_FILE), width, height)?);
        Ok(self
            .det
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((width, height))
            .or_insert(plan)
            .clone())
    }

    /// The lines of text in `image`, largest box first.
    pub fn read(&self, image: &DynamicImage) -> Result<Vec<TextLine>, OcrError> {
        let (width, height) = (image.width(), image.height());
        if width < 8 || height < 8 {
            return Ok(Vec::new());
        }
        let side = det_side(self.config.max_side);
        let (dw, dh) = det_size(width, height, side);
        let (iw, ih) = det_input(dw, dh, side);
        let small = image.resize_exact(dw, dh, FilterType::Triangle).to_rgb8();
        let input = Tensor::from_shape(
            &[1, 3, ih as usize, iw as usize],
            &to_chw_bgr(&small, iw, ih),
        )?;
        let det = self.det_for(iw, ih)?;
        let out = run_model(&det, input, "detector", |n| {
            (n == (iw * ih) as usize)
                .then_some(())
                .ok_or_else(|| format!("{n} values for a {iw} × {ih} input"))
        })?;
        let map = out.as_slice::<f32>()?;
        // The photo's part of the map.
        let map: Vec<f32> = map
            .chunks_exact(iw as usize)
            .take(dh as usize)
            .flat_map(|row| &row[..dw as usize])
            .copied()
            .collect();
        let mut boxes = boxes_from_map(&map, dw, dh);
        boxes.sort_by(|a, b| b.area().total_cmp(&a.area()));
        boxes.truncate(self.config.max_lines);

        // Lines are cut from a copy at most CROP_SIDE pixels a side.
        let crop_scale = (CROP_SIDE as f32 / width.max(height) as f32).min(1.0);
        let work: RgbImage = if crop_scale < 1.0 {
            let (cw, ch) = (
                ((width as f32 * crop_scale).round() as u32).max(1),
                ((height as f32 * crop_scale).round() as u32).max(1),
            );
            image.resize_exact(cw, ch, FilterType::Triangle).to_rgb8()
        } else {
            image.to_rgb8()
        };
        let (sx, sy) = (width as f32 / dw as f32, height as f32 / dh as f32);
        let mut lines = Vec::new();
        for b in boxes {
            let quad = b.corners().map(|[x, y]| [x * sx, y * sy]);
            let in_work = quad.map(|[x, y]| [x * crop_scale, y * crop_scale]);
            let Some(crop) = cut_line(&work, in_work) else {
                continue;
            };
            let input = Tensor::from_shape(
                &[1, 3, REC_HEIGHT as usize, REC_WIDTH as usize],
                &to_chw_bgr(&crop, REC_WIDTH, REC_HEIGHT),
            )?;
            let classes = self.classes.len();
            let out = run_model(&self.rec, input, "recogniser", |n| {
                (n > 0 && n % classes == 0)
                    .then_some(())
                    .ok_or_else(|| format!("{n} values for {classes} classes"))
            })?;
            let probs = out.as_slice::<f32>()?;
            let (text, confidence) = ctc_greedy(probs, &self.classes);
            let text = text.trim().to_owned();
            if text.is_empty() || confidence < self.config.min_confidence {
                continue;
            }
            lines.push(TextLine {
                text,
                confidence,
                bbox: upright(&quad, width, height),
                quad,
            });
        }
        Ok(lines)
    }
}

/// Runs `plan` on `input` and returns its first output, a tensor of f32 values
/// whose count `check` accepts (or says why not); `model` names the model in
/// errors.
fn run_model(
    plan: &Plan,
    input: Tensor,
    model: &str,
    check: impl FnOnce(usize) -> Result<(), String>,
) -> Result<TValue, OcrError> {
    let mut out = plan.run(tvec![input.into()])?;
    if out.is_empty() {
        return Err(OcrError::Run(format!("the {model} gave no output").into()));
    }
    let first = out.swap_remove(0);
    let n = first.as_slice::<f32>()?.len();
    check(n).map_err(|why| OcrError::Run(format!("the {model} gave {why}").into()))?;
    Ok(first)
}

/// The detector loaded and optimised for a `width` × `height` input.
fn det_plan(path: &Path, width: u32, height: u32) -> Result<Plan, OcrError> {
    load_plan(path, || {
        tvec![
            1.to_dim(),
            3.to_dim(),
            (height as usize).to_dim(),
            (width as usize).to_dim()
        ]
    })
}

/// Steps of the detector's input sides: a photo's `dw` × `dh` detector image is
/// placed in an input whose sides are rounded up to a multiple of this (at most
/// `max_side`), so that a small or oblong photo does not pay for a `max_side`
/// square while at most 25 shapes (at 800 pixels) are ever optimised.
pub const DET_STEP: u32 = 160;

/// The detector's input for a `dw` × `dh` detector image (see [`DET_STEP`]).
pub fn det_input(dw: u32, dh: u32, max_side: u32) -> (u32, u32) {
    let up = |v: u32| (v.div_ceil(DET_STEP) * DET_STEP).min(max_side).max(v);
    (up(dw), up(dh))
}

/// The detector's input size for a `width` × `height` photo: the longer side at
/// most `max_side`, each side a multiple of 32 (at least 32).
pub fn det_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    let scale = (max_side as f32 / width.max(height) as f32).min(1.0);
    let round = |v: u32| -> u32 {
        let s = (v as f32 * scale / 32.0).round() as u32 * 32;
        s.clamp(32, max_side.max(32))
    };
    (round(width), round(height))
}

/// The detector's square input side for `max_side`: a multiple of 32, at least
/// 32.
fn det_side(max_side: u32) -> u32 {
    (max_side / 32).max(1) * 32
}

/// The pixels of `image` as the models read them, at the top left of a `width` ×
/// `height` input (the rest 0, the mean grey): channels first, in BGR order,
/// scaled to -1..1.
fn to_chw_bgr(image: &RgbImage, width: u32, height: u32) -> Vec<f32> {
    let plane = (width * height) as usize;
    let mut out = vec![0f32; 3 * plane];
    for (x, y, p) in image.enumerate_pixels() {
        if x >= width || y >= height {
            continue;
        }
        let i = (y * width + x) as usize;
        for (c, channel) in [2usize, 1, 0].into_iter().enumerate() {
            out[c * plane + i] = p.0[channel] as f32 / 127.5 - 1.0;
        }
    }
    out
}

/// A line found by the detector: a rectangle turned by any angle, in pixels of
/// the detector's input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetBox {
    /// The centre.
    pub centre: [f32; 2],
    /// The unit vector along the line, pointing right (`x >= 0`).
    pub axis: [f32; 2],
    /// Half the length along [`DetBox::axis`].
    pub half_long: f32,
    /// Half the length across it.
    pub half_short: f32,
    /// The mean text probability of the region.
    pub score: f32,
}

impl DetBox {
    /// Its area in pixels.
    pub fn area(&self) -> f32 {
        4.0 * self.half_long * self.half_short
    }

    /// Top left, top right, bottom right, bottom left, as the line reads.
    pub fn corners(&self) -> [[f32; 2]; 4] {
        let [cx, cy] = self.centre;
        let [ux, uy] = self.axis;
        // Across the line, pointing down for a level line.
        let (vx, vy) = (-uy, ux);
        let (a, b) = (self.half_long, self.half_short);
        let at = |s: f32, t: f32| [cx + s * a * ux + t * b * vx, cy + s * a * uy + t * b * vy];
        [at(-1.0, -1.0), at(1.0, -1.0), at(1.0, 1.0), at(-1.0, 1.0)]
    }

    /// The rectangle of `corners` (consecutive corners of a rectangle), its long
    /// side read as the line's direction.
    fn from_rect(corners: [[f32; 2]; 4], score: f32) -> DetBox {
        let centre = [
            corners.iter().map(|c| c[0]).sum::<f32>() / 4.0,
            corners.iter().map(|c| c[1]).sum::<f32>() / 4.0,
        ];
        let edge = |i: usize| {
            let (p, q) = (corners[i], corners[(i + 1) % 4]);
            let d = [q[0] - p[0], q[1] - p[1]];
            (d, d[0].hypot(d[1]))
        };
        let ((e1, l1), (e2, l2)) = (edge(0), edge(1));
        let (e, long, short) = if l1 >= l2 { (e1, l1, l2) } else { (e2, l2, l1) };
        let mut axis = if long > 0.0 {
            [e[0] / long, e[1] / long]
        } else {
            [1.0, 0.0]
        };
        if axis[0] < 0.0 || (axis[0] == 0.0 && axis[1] < 0.0) {
            axis = [-axis[0], -axis[1]];
        }
        DetBox {
            centre,
            axis,
            half_long: long / 2.0,
            half_short: short / 2.0,
            score,
        }
    }
}

/// The lines of a detector probability `map` of `width` × `height` (row by row),
/// unordered; see the module documentation.
pub fn boxes_from_map(map: &[f32], width: u32, height: u32) -> Vec<DetBox> {
    use imageproc::region_labelling::{connected_components, Connectivity};
    if width == 0 || height == 0 || map.len() != (width * height) as usize {
        return Vec::new();
    }
    let mut mask = GrayImage::from_fn(width, height, |x, y| {
        Luma([u8::from(map[(y * width + x) as usize] > DET_THRESHOLD) * 255])
    });
    imageproc::morphology::dilate_mut(&mut mask, imageproc::distance_transform::Norm::LInf, 1);
    let labels = connected_components(&mask, Connectivity::Eight, Luma([0u8]));
    let count = labels.pixels().map(|p| p.0[0]).max().unwrap_or(0) as usize;
    // Each region's pixels and the sum of their probabilities.
    let mut regions: Vec<(Vec<Point<i32>>, f32)> = vec![(Vec::new(), 0.0); count];
    for (x, y, p) in labels.enumerate_pixels() {
        let label = p.0[0] as usize;
        if label == 0 {
            continue;
        }
        let region = &mut regions[label - 1];
        region.0.push(Point::new(x as i32, y as i32));
        region.1 += map[(y * width + x) as usize];
    }
    regions
        .into_iter()
        .filter(|(points, _)| points.len() >= 4)
        .filter_map(|(points, sum)| {
            let score = sum / points.len() as f32;
            if score < BOX_THRESHOLD {
                return None;
            }
            let rect = imageproc::geometry::min_area_rect(&points)
                .map(|p| [p.x as f32 + 0.5, p.y as f32 + 0.5]);
            let mut b = DetBox::from_rect(rect, score);
            // Pixel centres: the region spans half a pixel more on every side.
            b.half_long += 0.5;
            b.half_short += 0.5;
            if 2.0 * b.half_short < MIN_BOX_SIDE {
                return None;
            }
            let (long, short) = (2.0 * b.half_long, 2.0 * b.half_short);
            let grow = long * short * UNCLIP_RATIO / (2.0 * (long + short));
            b.half_long += grow;
            b.half_short += grow;
            Some(b)
        })
        .collect()
}

/// The line inside `quad` (top left, top right, bottom right, bottom left, in
/// `image`'s pixels) straightened to [`REC_HEIGHT`] pixels high, at most
/// [`REC_WIDTH`] wide; `None` when the quad is degenerate.
fn cut_line(image: &RgbImage, quad: [[f32; 2]; 4]) -> Option<RgbImage> {
    let dist = |p: [f32; 2], q: [f32; 2]| (q[0] - p[0]).hypot(q[1] - p[1]);
    let long = (dist(quad[0], quad[1]) + dist(quad[3], quad[2])) / 2.0;
    let tall = (dist(quad[0], quad[3]) + dist(quad[1], quad[2])) / 2.0;
    if !(long >= 1.0 && tall >= 1.0) {
        return None;
    }
    let w = ((REC_HEIGHT as f32 * long / tall).round() as u32).clamp(16, REC_WIDTH);
    let (wf, hf) = (w as f32, REC_HEIGHT as f32);
    let from = quad.map(|[x, y]| (x, y));
    let to = [(0.0, 0.0), (wf, 0.0), (wf, hf), (0.0, hf)];
    let projection = Projection::from_control_points(from, to)?;
    let mut out = RgbImage::new(w, REC_HEIGHT);
    warp_into(
        image,
        &projection,
        Interpolation::Bilinear,
        Rgb([0, 0, 0]),
        &mut out,
    );
    Some(out)
}

/// The upright box around `quad`, cut to the `width` × `height` photo.
fn upright(quad: &[[f32; 2]; 4], width: u32, height: u32) -> [u32; 4] {
    let xs = quad.iter().map(|p| p[0]);
    let ys = quad.iter().map(|p| p[1]);
    let clamp = |v: f32, max: u32| v.round().clamp(0.0, max as f32) as u32;
    let x0 = clamp(xs.clone().fold(f32::INFINITY, f32::min), width);
    let x1 = clamp(xs.fold(f32::NEG_INFINITY, f32::max), width);
    let y0 = clamp(ys.clone().fold(f32::INFINITY, f32::min), height);
    let y1 = clamp(ys.fold(f32::NEG_INFINITY, f32::max), height);
    [x0, y0, x1 - x0, y1 - y0]
}

/// What a photo reads, for matching: each line as read, then each pair of lines
/// that continue one another joined ([`joined_lines`]).
pub fn readings(lines: Vec<TextLine>) -> Vec<TextLine> {
    let joined = joined_lines(&lines);
    let mut all = lines;
    all.extend(joined);
    all
}

/// A line's own frame: origin at its top left corner, `x` along its reading
/// direction, `y` down across it, in the photo's pixels.
struct Frame {
    origin: [f32; 2],
    along: [f32; 2],
    across: [f32; 2],
    width: f32,
    height: f32,
}

impl Frame {
    /// The frame of a line's quad (top left, top right, bottom right, bottom left).
    fn of(quad: &[[f32; 2]; 4]) -> Option<Frame> {
        let [tl, tr, _, bl] = *quad;
        let (dx, dy) = (tr[0] - tl[0], tr[1] - tl[1]);
        let width = dx.hypot(dy);
        if width < 1.0 {
            return None;
        }
        let along = [dx / width, dy / width];
        let across = [-along[1], along[0]];
        let height = (bl[0] - tl[0]) * across[0] + (bl[1] - tl[1]) * across[1];
        (height >= 1.0).then_some(Frame {
            origin: tl,
            along,
            across,
            width,
            height,
        })
    }

    /// A point of the photo in this frame.
    fn local(&self, p: [f32; 2]) -> [f32; 2] {
        let (dx, dy) = (p[0] - self.origin[0], p[1] - self.origin[1]);
        [
            dx * self.along[0] + dy * self.along[1],
            dx * self.across[0] + dy * self.across[1],
        ]
    }

    /// A point of this frame in the photo.
    fn photo(&self, [u, v]: [f32; 2]) -> [f32; 2] {
        [
            self.origin[0] + u * self.along[0] + v * self.across[0],
            self.origin[1] + u * self.along[1] + v * self.across[1],
        ]
    }

    /// The box around a quad in this frame: x0, y0, x1, y1.
    fn span(&self, quad: &[[f32; 2]; 4]) -> [f32; 4] {
        quad.iter().map(|p| self.local(*p)).fold(
            [
                f32::INFINITY,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NEG_INFINITY,
            ],
            |[x0, y0, x1, y1], [u, v]| [x0.min(u), y0.min(v), x1.max(u), y1.max(v)],
        )
    }
}

/// Largest turn between two lines that continue one another: 15°. Lines of one
/// print share a baseline direction; the detector's boxes of one word wobble by a
/// few degrees.
const JOIN_MAX_TURN: f32 = 0.26;

/// Lines that read as one when joined: the detector cuts text at wide spaces and
/// at line breaks, so a mark of two words ("Alibaba Cloud") printed with a wide
/// space, or stacked on a label ("ALIBABA" over "CLOUD"), would otherwise never be
/// read whole. Each line is joined to the nearest line that continues it *on the
/// same line* (to its right along its own reading direction, so turned print
/// works too), and to the nearest line *set just below it*. Answers each pair in
/// reading order as a line of its own: the texts joined by a space, the box around
/// both in the first line's direction, the lower confidence of the two.
///
/// Measured in the first line's frame, relative to the taller line's height `h`
/// so that the rules hold at every size, a line `b` continues `a` when the two
/// are turned alike (within [`JOIN_MAX_TURN`]), their heights differ by at most a
/// factor of two (a logo's second line is often smaller, a caption far smaller),
/// and:
/// - **same line**: their spans across the line overlap by at least half the
///   smaller height, and `b` starts after `a`'s end less a quarter of `h` (the
///   boxes of neighbouring words touch) and at most `h` after it (a word space is
///   a quarter to half of the height; a wider gap is another label);
/// - **below**: `b`'s top is below `a`'s middle and at most `h` under `a`'s
///   bottom (a typeset leading is 0.2 to 0.5 of the height; a wider gap is
///   another block of text), and their spans along the line overlap by at least
///   half of the narrower line (stacked text is centred or aligned on one edge).
///
/// Pairs are not chained: marks of three or more words split twice are rare, and
/// every join is one more reading that could match by chance.
pub fn joined_lines(lines: &[TextLine]) -> Vec<TextLine> {
    let mut out = Vec::new();
    for (i, a) in lines.iter().enumerate() {
        let Some(fa) = Frame::of(&a.quad) else {
            continue;
        };
        let mut next: Option<(f32, usize, [f32; 4])> = None;
        let mut below: Option<(f32, usize, [f32; 4])> = None;
        for (j, b) in lines.iter().enumerate() {
            let Some(fb) = Frame::of(&b.quad) else {
                continue;
            };
            let cos = fa.along[0] * fb.along[0] + fa.along[1] * fb.along[1];
            let (ha, hb) = (fa.height, fb.height);
            if j == i || cos < JOIN_MAX_TURN.cos() || ha.max(hb) > 2.0 * ha.min(hb) {
                continue;
            }
            let h = ha.max(hb);
            let [x0, y0, x1, y1] = fa.span(&b.quad);
            let across = y1.min(ha) - y0.max(0.0);
            let along = x1.min(fa.width) - x0.max(0.0);
            if across >= 0.5 * ha.min(hb)
                && x0 >= fa.width - 0.25 * h
                && x0 - fa.width <= h
                && next.is_none_or(|(d, _, _)| x0 < d)
            {
                next = Some((x0, j, [x0, y0, x1, y1]));
            }
            if y0 > ha / 2.0
                && y0 - ha <= h
                && along >= 0.5 * fa.width.min(fb.width)
                && below.is_none_or(|(d, _, _)| y0 < d)
            {
                below = Some((y0, j, [x0, y0, x1, y1]));
            }
        }
        for (_, j, [x0, y0, x1, y1]) in next.into_iter().chain(below) {
            let b = &lines[j];
            let [l, t, r, bo] = [
                x0.min(0.0),
                y0.min(0.0),
                x1.max(fa.width),
                y1.max(fa.height),
            ];
            let bx0 = a.bbox[0].min(b.bbox[0]);
            let by0 = a.bbox[1].min(b.bbox[1]);
            let bx1 = (a.bbox[0] + a.bbox[2]).max(b.bbox[0] + b.bbox[2]);
            let by1 = (a.bbox[1] + a.bbox[3]).max(b.bbox[1] + b.bbox[3]);
            out.push(TextLine {
                text: format!("{} {}", a.text, b.text),
                confidence: a.confidence.min(b.confidence),
                quad: [[l, t], [r, t], [r, bo], [l, bo]].map(|p| fa.photo(p)),
                bbox: [bx0, by0, bx1 - bx0, by1 - by0],
            });
        }
    }
    out
}

/// Greedy CTC decoding of a recogniser's output: `probs` holds, for each column,
/// the probability of each of `classes` (index 0 the blank). Takes the most likely
/// class of each column, merges repeats, drops blanks; answers the text and the
/// mean probability of the characters kept (0 for no character).
pub fn ctc_greedy(probs: &[f32], classes: &[String]) -> (String, f32) {
    let n = classes.len();
    if n == 0 {
        return (String::new(), 0.0);
    }
    let mut text = String::new();
    let (mut sum, mut kept) = (0.0f32, 0usize);
    let mut previous = 0usize;
    for column in probs.chunks_exact(n) {
        let (best, p) =
            column
                .iter()
                .copied()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |(bi, bp), (i, p)| {
                    if p > bp {
                        (i, p)
                    } else {
                        (bi, bp)
                    }
                });
        if best != 0 && best != previous {
            text.push_str(&classes[best]);
            sum += p;
            kept += 1;
        }
        previous = best;
    }
    let confidence = if kept == 0 { 0.0 } else { sum / kept as f32 };
    (text, confidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, bbox: [u32; 4]) -> TextLine {
        let [x, y, w, h] = bbox.map(|v| v as f32);
        TextLine {
            text: text.into(),
            confidence: 0.9,
            quad: [[x, y], [x + w, y], [x + w, y + h], [x, y + h]],
            bbox,
        }
    }

    #[test]
    fn joined_lines_join_a_line_with_the_next_word_and_the_line_below_only() {
        let lines = [
            line("ALIBABA", [100, 100, 300, 60]),
            // Centred below with a 20-pixel leading, a little smaller.
            line("CLOUD", [170, 180, 160, 45]),
            // On the same line, 150 pixels on: another label.
            line("SALE", [550, 105, 120, 50]),
            // Far below (a gap of three line heights): another block.
            line("Made in", [100, 400, 200, 40]),
            // A caption a quarter of the height, just below.
            line("fine print", [120, 448, 100, 10]),
            // The next word on the line of "Made in", after a word space.
            line("Italy", [315, 402, 90, 38]),
        ];
        let joined = joined_lines(&lines);
        let texts: Vec<&str> = joined.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["ALIBABA CLOUD", "Made in Italy"]);
        assert_eq!(joined[0].bbox, [100, 100, 300, 125]);
        assert_eq!(joined[0].quad[2], [400.0, 225.0]);
        assert_eq!(joined[1].bbox, [100, 400, 305, 40]);
        // The nearest line below is the one joined.
        let lines = [
            line("ONE", [0, 0, 100, 40]),
            line("THREE", [0, 100, 100, 40]),
            line("TWO", [0, 50, 100, 40]),
        ];
        let texts: Vec<String> = joined_lines(&lines).into_iter().map(|l| l.text).collect();
        assert_eq!(texts, ["ONE TWO", "TWO THREE"]);
    }

    #[test]
    fn joined_lines_follow_turned_print() {
        // Two words on a baseline turned by 20°, the second 10 pixels after the
        // first along it, as the detector boxes them (each its own rotated quad).
        let (s, c) = 20f32.to_radians().sin_cos();
        let turned = |text: &str, u0: f32, w: f32| {
            let at = |u: f32, v: f32| [200.0 + u * c - v * s, 100.0 + u * s + v * c];
            let quad = [at(u0, 0.0), at(u0 + w, 0.0), at(u0 + w, 50.0), at(u0, 50.0)];
            let xs = quad.map(|p| p[0]);
            let ys = quad.map(|p| p[1]);
            let (x0, y0) = (
                xs.iter().fold(f32::MAX, |m, &v| m.min(v)),
                ys.iter().fold(f32::MAX, |m, &v| m.min(v)),
            );
            let (x1, y1) = (
                xs.iter().fold(0f32, |m, &v| m.max(v)),
                ys.iter().fold(0f32, |m, &v| m.max(v)),
            );
            TextLine {
                text: text.into(),
                confidence: 0.9,
                quad,
                bbox: [x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32],
            }
        };
        let lines = [turned("ALIBABA", 0.0, 200.0), turned("CLOUD", 210.0, 150.0)];
        let joined = joined_lines(&lines);
        assert_eq!(joined.len(), 1, "{joined:?}");
        assert_eq!(joined[0].text, "ALIBABA CLOUD");
        // The joined quad runs along the baseline from the first word's corner.
        let [tl, tr, ..] = joined[0].quad;
        assert!(
            (tl[0] - 200.0).abs() < 0.01 && (tl[1] - 100.0).abs() < 0.01,
            "{tl:?}"
        );
        assert!((tr[0] - (200.0 + 360.0 * c)).abs() < 0.01, "{tr:?}");
    }

    fn classes(chars: &str) -> Vec<String> {
        std::iter::once(String::new())
            .chain(chars.chars().map(String::from))
            .collect()
    }

    /// Columns of one-hot-ish probabilities for `picks` (class indices).
    fn columns(picks: &[usize], n: usize, p: f32) -> Vec<f32> {
        let mut out = vec![(1.0 - p) / (n - 1) as f32; picks.len() * n];
        for (c, &k) in picks.iter().enumerate() {
            out[c * n + k] = p;
        }
        out
    }

    #[test]
    fn ctc_merges_repeats_and_drops_blanks() {
        let cls = classes("abn");
        // "a a _ b b _ b n": the blank between the b's keeps both.
        let probs = columns(&[1, 1, 0, 2, 2, 0, 2, 3], cls.len(), 0.9);
        let (text, confidence) = ctc_greedy(&probs, &cls);
        assert_eq!(text, "abbn");
        assert!((confidence - 0.9).abs() < 1e-6);
    }

    #[test]
    fn ctc_of_blanks_only_is_empty_with_no_confidence() {
        let cls = classes("ab");
        let probs = columns(&[0, 0, 0], cls.len(), 0.8);
        assert_eq!(ctc_greedy(&probs, &cls), (String::new(), 0.0));
        assert_eq!(ctc_greedy(&[], &cls), (String::new(), 0.0));
    }

    #[test]
    fn ctc_confidence_is_the_mean_of_the_kept_characters() {
        let cls = classes("xy");
        let mut probs = columns(&[1, 2], cls.len(), 0.9);
        probs[cls.len() + 2] = 0.5; // the y column, less sure
        let (text, confidence) = ctc_greedy(&probs, &cls);
        assert_eq!(text, "xy");
        assert!((confidence - 0.7).abs() < 1e-6);
    }

    /// A map with a filled rectangle of probability `p` (a level line).
    fn map_with(width: u32, height: u32, rect: [u32; 4], p: f32) -> Vec<f32> {
        let [x0, y0, w, h] = rect;
        (0..height)
            .flat_map(|y| {
                (0..width).map(move |x| {
                    if (x0..x0 + w).contains(&x) && (y0..y0 + h).contains(&y) {
                        p
                    } else {
                        0.01
                    }
                })
            })
            .collect()
    }

    #[test]
    fn a_level_line_gives_one_grown_box_along_it() {
        let map = map_with(128, 64, [20, 30, 60, 10], 0.9);
        let boxes = boxes_from_map(&map, 128, 64);
        assert_eq!(boxes.len(), 1);
        let b = boxes[0];
        assert!((b.axis[0] - 1.0).abs() < 1e-3 && b.axis[1].abs() < 1e-3);
        // Dilated by a pixel: 62 × 12, centred on the rectangle.
        assert!((b.centre[0] - 50.0).abs() < 0.6, "{b:?}");
        assert!((b.centre[1] - 35.0).abs() < 0.6, "{b:?}");
        // Grown by area × 1.6 / perimeter = 62·12·1.6 / 148 ≈ 8.0 on every side.
        assert!((2.0 * b.half_long - (62.0 + 16.0)).abs() < 1.5, "{b:?}");
        assert!((2.0 * b.half_short - (12.0 + 16.0)).abs() < 1.5, "{b:?}");
        let [tl, tr, br, bl] = b.corners();
        assert!(tl[0] < tr[0] && tl[1] < bl[1] && br[0] > bl[0]);
    }

    #[test]
    fn faint_and_thin_regions_are_not_lines() {
        // Below the box threshold though above the pixel threshold.
        let faint = map_with(64, 64, [10, 10, 40, 10], 0.4);
        assert!(boxes_from_map(&faint, 64, 64).is_empty());
        // A speck: dilated to 3 × 3, its box under the smallest side.
        let speck = map_with(64, 64, [30, 30, 1, 1], 0.9);
        assert!(boxes_from_map(&speck, 64, 64).is_empty());
        let nothing = vec![0.0; 64 * 64];
        assert!(boxes_from_map(&nothing, 64, 64).is_empty());
        // A map of the wrong size is nothing, not a panic.
        assert!(boxes_from_map(&nothing, 65, 64).is_empty());
    }

    #[test]
    fn a_turned_line_reads_left_to_right() {
        // A line drawn at about -20° (rising to the right).
        let (w, h) = (160u32, 120u32);
        let angle = -20f32.to_radians();
        let (c, s) = (angle.cos(), angle.sin());
        let map: Vec<f32> = (0..h)
            .flat_map(|y| {
                (0..w).map(move |x| {
                    let (dx, dy) = (x as f32 - 80.0, y as f32 - 60.0);
                    let along = dx * c + dy * s;
                    let across = -dx * s + dy * c;
                    if along.abs() < 40.0 && across.abs() < 6.0 {
                        0.95
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        let boxes = boxes_from_map(&map, w, h);
        assert_eq!(boxes.len(), 1);
        let b = boxes[0];
        assert!(b.axis[0] > 0.9 && b.axis[1] < -0.25, "{b:?}");
        let [tl, tr, _, bl] = b.corners();
        assert!(tr[0] > tl[0] && tr[1] < tl[1] && bl[1] > tl[1]);
    }

    #[test]
    fn the_detector_input_is_bounded_and_a_multiple_of_32() {
        assert_eq!(det_size(1920, 1080, 640), (640, 352));
        assert_eq!(det_size(100, 40, 640), (96, 32));
        assert_eq!(det_size(10, 4000, 640), (32, 640));
        let (w, h) = det_size(4000, 3000, 960);
        assert!(w <= 960 && h <= 960 && w % 32 == 0 && h % 32 == 0);
    }

    #[test]
    fn the_detector_input_is_rounded_up_in_steps_within_the_square() {
        assert_eq!(det_input(800, 576, 800), (800, 640));
        assert_eq!(det_input(800, 800, 800), (800, 800));
        assert_eq!(det_input(96, 32, 800), (160, 160));
        assert_eq!(det_input(640, 352, 640), (640, 480));
        // A square that is no multiple of the step: its side is the bound.
        assert_eq!(det_input(608, 320, 608), (608, 320));
        assert_eq!(det_input(600, 32, 608), (608, 160));
        for side in [32, 96, 640, 800, 960] {
            for v in (32..=side).step_by(32) {
                let (w, h) = det_input(v, side, side);
                assert!(
                    w >= v && w <= side && w % 32 == 0 && h == side,
                    "{v} {side}"
                );
            }
        }
    }

    #[test]
    fn missing_models_are_one_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Ocr::load(dir.path(), OcrConfig::default()).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, OcrError::Missing { file: DET_FILE, .. }));
        assert!(message.contains("scripts/fetch-ocr-models.sh"), "{message}");
    }

    /// The models' folder, or `None` (with a message) when the models are missing
    /// and MARKHOUND_REQUIRE_OCR_MODELS is unset.
    fn models_or_skip() -> Option<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MODELS_DIR);
        if dir.join(DET_FILE).is_file() {
            return Some(dir);
        }
        assert!(
            std::env::var_os("MARKHOUND_REQUIRE_OCR_MODELS").is_none(),
            "MARKHOUND_REQUIRE_OCR_MODELS is set but {} is missing",
            dir.join(DET_FILE).display()
        );
        eprintln!("skipped: no OCR models (scripts/fetch-ocr-models.sh)");
        None
    }

    #[test]
    fn the_upsampling_rewritten_as_a_broadcast_gives_the_same_map() {
        let Some(dir) = models_or_skip() else {
            return;
        };
        let path = dir.join(DET_FILE);
        let side = 128usize;
        let shape = || tvec![1.to_dim(), 3.to_dim(), side.to_dim(), side.to_dim()];
        let proto = tract_onnx::onnx().proto_model_for_path(&path).unwrap();
        assert_eq!(
            nearest_repeat_resizes(&proto).len(),
            6,
            "PP-OCRv4's detector"
        );
        let fast = load_model(&path, shape, true).unwrap();
        let plain = load_model(&path, shape, false).unwrap();
        let resizes = |plan: &Plan| {
            plan.model()
                .nodes()
                .iter()
                .filter(|n| n.op.name() == "Resize")
                .count()
        };
        assert_eq!((resizes(&fast), resizes(&plain)), (0, 6));
        assert!(format!("{:?}", fast.model()).contains("Repeat2d"));
        // A word in the 8 × 8 bitmap font, dark on light, 3 pixels a dot.
        let mut photo = RgbImage::from_pixel(side as u32, side as u32, Rgb([235; 3]));
        for (i, ch) in "SHOE".chars().enumerate() {
            let glyph = font8x8::UnicodeFonts::get(&font8x8::BASIC_FONTS, ch).unwrap();
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8u32 {
                    if bits & (1 << col) != 0 {
                        for (dx, dy) in [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)] {
                            let x = 10 + i as u32 * 27 + col * 3 + dx;
                            let y = 50 + row as u32 * 3 + dy;
                            photo.put_pixel(x, y, Rgb([20, 20, 30]));
                        }
                    }
                }
            }
        }
        let input = to_chw_bgr(&photo, side as u32, side as u32);
        let run = |plan: &Plan| {
            let t = Tensor::from_shape(&[1, 3, side, side], &input).unwrap();
            let out = run_model(plan, t, "detector", |_| Ok(())).unwrap();
            out.as_slice::<f32>().unwrap().to_vec()
        };
        let (a, b) = (run(&fast), run(&plain));
        assert_eq!(a.len(), side * side);
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-4, "maps differ by {worst}");
        assert!(a.iter().any(|&p| p > 0.3), "the word is seen as text");
    }
}
