mod crawl;
mod image;
mod match_cmd;
mod registry;
mod report_browser;
mod util;
