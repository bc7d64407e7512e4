mod image;
mod util;
