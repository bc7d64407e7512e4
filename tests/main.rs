mod image;
mod match_cmd;
mod registry;
mod report_browser;
mod review_api;
mod review_browser;
mod util;
