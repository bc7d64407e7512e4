#!/usr/bin/env bash
# Crawling throughput: `markhound crawl` against Scrapy on the same static site.
#
# Serves 5,000 listing pages (schema.org Product JSON-LD) and 100 result pages of
# 50 links each from nginx on 127.0.0.1, then crawls the whole site with
#   - markhound, plain-URL mode, politeness lifted (--per-host-rps 0) and 64 fetches
#     in flight, robots.txt obeyed, every page committed to its database;
#   - Scrapy with 64 concurrent requests, robots.txt obeyed, JSON-LD parsed in the
#     spider and items written as JSON lines.
# Prints listings per second for both and markhound's peak memory (max RSS).
#
# Usage: scripts/bench-crawl.sh  (env: PAGES=5000 PORT=18089 VENV=target/bench-venv)
# Needs nginx (installed with apt-get when missing), python3 with venv; installs
# Scrapy into the venv.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
pages="${PAGES:-5000}"
port="${PORT:-18089}"
venv="${VENV:-$root/target/bench-venv}"
target="${CARGO_TARGET_DIR:-$root/target}"

if ! command -v nginx > /dev/null; then
    apt-get install -y nginx-light || apt-get install -y nginx
fi
if [ ! -x "$venv/bin/scrapy" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet scrapy
fi
(cd "$root" && cargo build --release --quiet)
markhound="$target/release/markhound"

work="$(mktemp -d)"
chmod 755 "$work"
cleanup() {
    if [ -f "$work/nginx.pid" ]; then kill "$(cat "$work/nginx.pid")" 2> /dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# The site: /list/N.html (50 links each, and a next link) and /item/N.html.
python3 - "$work/site" "$pages" <<'PY'
import json, os, sys
site, pages = sys.argv[1], int(sys.argv[2])
per = 50
os.makedirs(f"{site}/list"); os.makedirs(f"{site}/item")
open(f"{site}/robots.txt", "w").write("User-agent: *\nDisallow: /private/\n")
lists = (pages + per - 1) // per
for n in range(1, lists + 1):
    links = "".join(f'<li><a href="/item/{i}.html">Item {i}</a></li>'
                    for i in range((n - 1) * per + 1, min(n * per, pages) + 1))
    nxt = f'<a rel="next" href="/list/{n + 1}.html">next</a>' if n < lists else ""
    open(f"{site}/list/{n}.html", "w").write(
        f"<!doctype html><html><head><title>Page {n}</title></head><body><ul>{links}</ul>{nxt}</body></html>")
filler = "<p>" + "Solid construction, fast shipping, ask us anything. " * 40 + "</p>"
for i in range(1, pages + 1):
    product = {"@context": "https://schema.org", "@type": "Product", "sku": f"sku-{i}",
               "name": f"Product {i} running shoes", "description": "A fine product.",
               "image": [f"/img/{i}.jpg"],
               "offers": {"@type": "Offer", "price": f"{10 + i % 90}.99", "priceCurrency": "USD",
                          "seller": {"@type": "Organization", "identifier": f"seller-{i % 97}",
                                     "name": f"Seller {i % 97}"}}}
    open(f"{site}/item/{i}.html", "w").write(
        f'<!doctype html><html><head><title>Product {i}</title>'
        f'<script type="application/ld+json">{json.dumps(product)}</script></head>'
        f'<body><h1>Product {i}</h1>{filler}<a href="/list/1.html">back</a></body></html>')
PY
chmod -R a+rX "$work/site"

cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/tmp;
    proxy_temp_path $work/tmp;
    fastcgi_temp_path $work/tmp;
    uwsgi_temp_path $work/tmp;
    scgi_temp_path $work/tmp;
    types { text/html html; text/plain txt; }
    server {
        listen 127.0.0.1:$port;
        root $work/site;
    }
}
NGINX
mkdir -p "$work/tmp"
nginx -c "$work/nginx.conf"
sleep 0.5
curl -sf "http://127.0.0.1:$port/list/1.html" > /dev/null

load="$(cut -d' ' -f1-3 /proc/loadavg 2> /dev/null || echo unknown)"
echo "site: $pages listing pages on http://127.0.0.1:$port (load average $load)"

# markhound
/usr/bin/time -f "%e %M" -o "$work/mh.time" "$markhound" --quiet --db "$work/mh.db" crawl \
    "http://127.0.0.1:$port/list/1.html" --allow-private --per-host-rps 0 \
    --concurrency 64 --per-host-concurrency 64 --max-depth 1000 --max-pages 100000
mh_listings="$("$markhound" --db "$work/mh.db" listings export | wc -l)"
read -r mh_secs mh_kb < "$work/mh.time"

# Scrapy
cat > "$work/spider.py" <<'PY'
import json
import scrapy

class Shop(scrapy.Spider):
    name = "shop"

    def __init__(self, start=None, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [start]

    def parse(self, response):
        for text in response.css('script[type="application/ld+json"]::text').getall():
            try:
                data = json.loads(text)
            except ValueError:
                continue
            if data.get("@type") == "Product":
                offer = data.get("offers") or {}
                yield {"id": data.get("sku"), "title": data.get("name"),
                       "price": offer.get("price"), "currency": offer.get("priceCurrency"),
                       "seller": (offer.get("seller") or {}).get("identifier"),
                       "url": response.url}
        yield from response.follow_all(css="a", callback=self.parse)
PY
/usr/bin/time -f "%e %M" -o "$work/scrapy.time" "$venv/bin/scrapy" runspider "$work/spider.py" \
    -a "start=http://127.0.0.1:$port/list/1.html" -o "$work/scrapy.jsonl" \
    -s LOG_LEVEL=WARNING -s ROBOTSTXT_OBEY=True -s CONCURRENT_REQUESTS=64 \
    -s CONCURRENT_REQUESTS_PER_DOMAIN=64 -s DOWNLOAD_DELAY=0 \
    -s AUTOTHROTTLE_ENABLED=False -s TELNETCONSOLE_ENABLED=False
scrapy_listings="$(wc -l < "$work/scrapy.jsonl")"
read -r sc_secs sc_kb < "$work/scrapy.time"

rate() { python3 -c "print(f'{$1 / $2:.0f}')"; }
echo
echo "| crawler | listings | seconds | listings/s | peak RSS |"
echo "| --- | ---: | ---: | ---: | ---: |"
echo "| markhound crawl | $mh_listings | $mh_secs | $(rate "$mh_listings" "$mh_secs") | $((mh_kb / 1024)) MiB |"
echo "| Scrapy | $scrapy_listings | $sc_secs | $(rate "$scrapy_listings" "$sc_secs") | $((sc_kb / 1024)) MiB |"
