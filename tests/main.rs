mod crawl;
mod image;
mod match_cmd;
mod registry;
mod util;
