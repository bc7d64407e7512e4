mod crawl;
mod image;
mod image_match;
mod match_cmd;
mod registry;
mod report_browser;
mod util;
