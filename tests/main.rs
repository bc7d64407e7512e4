mod registry;
mod util;
