"""A second ingest bench input, unlike the synth netra-staging week: a 48-hour Cloud Run export
of two services of a shop, as newline-delimited LogEntry JSON (one sink file's shape).

- `storefront-api`: request logs with every httpRequest field (long URLs with query
  strings, referers, mobile user agents, cache fields), and structured app logs whose
  jsonPayload is big and nested (request context, cart items, timings; error entries carry
  a multi-line stack trace, so their strings have escapes);
- `order-worker`: plain-text lines (textPayload) from 20 templates with many variables
  each, so there are many distinct messages; some carry non-ASCII text.

Entries are ~1.15 KB on average (requests 1.2 KB, app logs 1.5 KB, worker lines 0.6 KB). Deterministic for a (size, seed): same bytes every time.

Usage: storefront_export.py OUT.ndjson [--size-mb 1000] [--seed 7]
"""
import argparse
import json
import random
import uuid
from datetime import datetime, timedelta, timezone

PROJECT = "acme-shop-prod"
START = datetime(2026, 3, 9, 0, 0, tzinfo=timezone.utc)
HOURS = 48
API, WORKER = "storefront-api", "order-worker"
HOST = "https://storefront-api-7qk2xw3ria-ew.a.run.app"
CITIES = ["Zürich", "São Paulo", "Kraków", "Lyon", "Malmö", "Austin", "Ōsaka", "Dublin"]
SKUS = [f"SKU-{n:05d}" for n in range(0, 40000, 7)]
AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/AP2A.240805.005) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/128.0.6613.127 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/129.0.0.0 Safari/537.36 Edg/129.0.0.0",
    "AcmeShop/5.12.1 (com.acme.shop; build:5120; iOS 17.6.1) Alamofire/5.9.1",
    "Go-http-client/2.0",
]
ROUTES = [
    ("GET", "/api/v2/products/search?q={word}&page={n}&sort=price_asc&lang=de-CH&utm_source=newsletter&utm_campaign=spring-{n}", 30),
    ("GET", "/api/v2/products/{sku}?include=variants,stock,reviews&currency=EUR", 25),
    ("POST", "/api/v2/cart/{uuid}/items", 12),
    ("GET", "/api/v2/cart/{uuid}", 10),
    ("POST", "/api/v2/checkout/{uuid}/payment", 5),
    ("GET", "/api/v2/orders/{n}/tracking?carrier=dhl&locale=fr-FR", 6),
    ("GET", "/healthz", 8),
    ("POST", "/api/v2/auth/token/refresh", 4),
]
WORDS = ["sneakers", "rain+jacket", "espresso+machine", "kids+bike", "usb-c+hub", "yoga+mat"]
LOGGERS = ["storefront.catalog.search", "storefront.cart.service", "storefront.checkout.payment",
           "storefront.auth.tokens", "storefront.http.middleware", "storefront.inventory.client"]
APP_MESSAGES = [
    ("INFO", "search served {n} results for query {word!r} in {ms} ms"),
    ("INFO", "cart {uuid} updated: {n} items, total {price} EUR"),
    ("INFO", "payment intent {pi} created for order {order} ({price} EUR)"),
    ("WARNING", "inventory lookup for {sku} slow: {ms} ms (budget 250 ms)"),
    ("WARNING", "token for user {user} expires in {n} s; refreshing"),
    ("ERROR", "payment provider declined order {order}: card_declined (insufficient_funds)"),
    ("ERROR", "inventory service unavailable for {sku}: upstream connect error or disconnect/reset before headers"),
    ("DEBUG", "cache {hitmiss} for product:{sku}:v{n}"),
]
WORKER_LINES = [
    "processed order {order} for customer {user} in {ms}ms (items={n}, warehouse={wh}, carrier={carrier})",
    "picked {n} items for order {order} at {wh}/aisle-{aisle}",
    "label printed for shipment {ship} ({carrier}, {kg} kg, to {city})",
    "retrying webhook delivery to https://hooks.partner-{n}.example.com/v1/orders/{order} (attempt {attempt}/5): HTTP 502",
    "webhook delivered to https://hooks.partner-{n}.example.com/v1/orders/{order} in {ms}ms",
    "UPDATE inventory SET reserved = reserved + {n} WHERE sku = '{sku}' AND warehouse_id = {aisle} -- {ms}ms",
    "SELECT * FROM orders WHERE id = {order} FOR UPDATE SKIP LOCKED took {ms}ms",
    "cache miss for key stock:{sku}:{wh}, loading from postgres",
    "GC pause (G1 Evacuation Pause) {ms}ms, heap {n}M->{aisle}M(2048M)",
    "consumer lag on topic orders.v3 partition {aisle}: {n} messages",
    "batch {batch} committed: {n} orders, {attempt} retries, offsets {order}..{order2}",
    "rate limited by carrier API {carrier}: retry after {n}s",
    "address normalized for {city}: '{street}' -> '{street2}'",
    "refund {refund} issued for order {order}: {price} EUR ({reason})",
    "stock below threshold for {sku} at {wh}: {n} left (reorder point {aisle})",
    "worker {worker} heartbeat: {n} jobs in flight, rss {aisle}MB",
    "failed to acquire lock orders:{order} after {ms}ms; requeueing",
    "exported {n} rows to gs://acme-shop-prod-exports/orders/dt={date}/part-{aisle:05d}.parquet",
    "Exception in thread \"pool-{attempt}-thread-{aisle}\" java.net.SocketTimeoutException: Read timed out after {ms}ms",
    "payment capture for order {order} pending: provider status {pstatus}",
]
CARRIERS = ["dhl", "ups", "dpd", "gls", "postnord", "la-poste"]
WAREHOUSES = ["eu-west-2a", "eu-central-1b", "us-east-1c", "ap-northeast-1a"]
REASONS = ["damaged in transit", "wrong size", "late delivery", "customer changed mind"]
STACK = ("Traceback (most recent call last):\n"
         "  File \"/app/storefront/checkout/payment.py\", line {line}, in capture\n"
         "    resp = self.client.post(url, json=body, timeout=self.timeout)\n"
         "  File \"/usr/local/lib/python3.12/site-packages/httpx/_client.py\", line 1145, in post\n"
         "    return self.request(\"POST\", url, json=json)\n"
         "httpx.ReadTimeout: timed out after {ms} ms (\"POST /v1/payment_intents/{pi}/capture\")")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size-mb", type=float, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    write(args.out, args.size_mb, args.seed)


def write(out, size_mb, seed):
    """Writes the export to `out`; returns the number of entries."""
    rng = random.Random(seed)
    target = size_mb * 1e6
    # Entries per hour so that HOURS hours reach the size (1.15 KB an entry on average).
    per_hour = max(1, int(target / 1150 / HOURS))
    written, entries = 0, 0
    with open(out, "w", encoding="utf-8") as f:
        for hour in range(HOURS):
            base = START + timedelta(hours=hour)
            offsets = sorted(rng.random() * 3600 for _ in range(per_hour))
            for off in offsets:
                entry = make(rng, base + timedelta(seconds=off))
                line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
                f.write(line)
                written += len(line.encode())
                entries += 1
            if written >= target:
                break
    return entries


def fields(rng):
    n = rng.randint(1, 9)
    return dict(
        n=n, ms=rng.randint(3, 4800), word=rng.choice(WORDS), uuid=str(uuid.UUID(int=rng.getrandbits(128))),
        sku=rng.choice(SKUS), price=f"{rng.randint(5, 900)}.{rng.randint(0, 99):02d}",
        pi=f"pi_{rng.getrandbits(96):024x}", order=rng.randint(10_000_000, 99_999_999),
        order2=rng.randint(10_000_000, 99_999_999), user=rng.randint(100_000, 9_999_999),
        hitmiss=rng.choice(["hit", "miss"]), wh=rng.choice(WAREHOUSES), carrier=rng.choice(CARRIERS),
        aisle=rng.randint(1, 64), ship=f"SHP{rng.getrandbits(40):010X}", kg=f"{rng.random() * 30:.2f}",
        city=rng.choice(CITIES), attempt=rng.randint(1, 5), batch=rng.getrandbits(32),
        street=f"{rng.randint(1, 200)} rue de la Gare", street2=f"Rue de la Gare {rng.randint(1, 200)}",
        refund=f"re_{rng.getrandbits(64):016x}", reason=rng.choice(REASONS),
        worker=f"order-worker-{rng.getrandbits(20):05x}", date=f"2026-03-{rng.randint(1, 9):02d}",
        pstatus=rng.choice(["requires_capture", "processing", "requires_action"]),
    )


def resource(rng, service, revision):
    return {"type": "cloud_run_revision", "labels": {
        "project_id": PROJECT, "service_name": service, "revision_name": revision,
        "configuration_name": service, "location": "europe-west1"}}


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(rng, t, service, log, severity):
    revision = f"{service}-{(t.day * 24 + t.hour) // 19 + 300:05d}-{'abcdefgh'[t.hour % 8]}x{t.day}"
    e = {
        "insertId": f"{rng.getrandbits(64):016x}",
        "logName": f"projects/{PROJECT}/logs/run.googleapis.com%2F{log}",
        "receiveTimestamp": stamp(t + timedelta(milliseconds=rng.randint(5, 400))),
        "resource": resource(rng, service, revision),
        "severity": severity,
        "timestamp": stamp(t),
    }
    if log != "requests":
        e["labels"] = {"instanceId": f"00{rng.getrandbits(200):050x}"}
    return e


def make(rng, t):
    roll = rng.random()
    trace = f"projects/{PROJECT}/traces/{rng.getrandbits(128):032x}"
    if roll < 0.40:
        method, path, _ = rng.choices(ROUTES, weights=[r[2] for r in ROUTES])[0]
        f = fields(rng)
        status = rng.choices([200, 201, 204, 304, 400, 401, 404, 429, 500, 502, 503],
                             weights=[70, 5, 3, 5, 3, 2, 5, 2, 2, 1, 1])[0]
        sev = "ERROR" if status >= 500 else "WARNING" if status >= 400 else "INFO"
        e = envelope(rng, t, API, "requests", sev)
        e["httpRequest"] = {
            "requestMethod": method, "requestUrl": HOST + path.format(**f), "status": status,
            "requestSize": str(rng.randint(200, 9000)), "responseSize": str(rng.randint(0, 250_000)),
            "userAgent": rng.choice(AGENTS), "remoteIp": f"{rng.randint(2, 223)}.{rng.randint(0, 255)}."
            f"{rng.randint(0, 255)}.{rng.randint(1, 254)}", "serverIp": "216.239.38.53",
            "referer": f"https://www.acme-shop.example/{rng.choice(WORDS)}/p/{f['sku']}?ref=home-carousel&pos={f['n']}",
            "latency": f"{rng.random() * 2:.9f}s", "protocol": rng.choice(["HTTP/1.1", "HTTP/2"]),
            "cacheLookup": False, "cacheHit": False, "cacheValidatedWithOriginServer": False,
        }
        e["trace"], e["spanId"], e["traceSampled"] = trace, f"{rng.getrandbits(64):016x}", rng.random() < 0.1
        return e
    if roll < 0.75:
        sev, template = rng.choice(APP_MESSAGES)
        f = fields(rng)
        e = envelope(rng, t, API, "stdout" if sev in ("INFO", "DEBUG") else "stderr", sev)
        items = [{"sku": rng.choice(SKUS), "qty": rng.randint(1, 4), "unit_price": rng.randint(500, 90000) / 100,
                  "title": f"{rng.choice(WORDS).replace('+', ' ').title()} {rng.choice(CITIES)} Edition"}
                 for _ in range(rng.randint(0, 6))]
        payload = {
            "message": template.format(**f), "logger": rng.choice(LOGGERS), "severity": sev,
            "request": {"id": f["uuid"], "method": "POST", "path": f"/api/v2/cart/{f['uuid']}/items",
                        "user_id": f["user"], "session": f"s_{rng.getrandbits(96):024x}",
                        "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"},
            "cart": {"items": items, "currency": "EUR", "total": round(sum(i["qty"] * i["unit_price"] for i in items), 2)},
            "timing": {"db_ms": rng.randint(1, 300), "cache_ms": rng.randint(0, 20),
                       "upstream_ms": rng.randint(5, 2000)},
            "tags": rng.sample(["mobile", "eu", "beta", "promo", "returning", "guest", "app"], 3),
            "python": {"file": "/app/storefront/handlers.py", "line": rng.randint(10, 900), "thread": "MainThread"},
        }
        if sev == "ERROR":
            payload["error"] = {"type": "httpx.ReadTimeout",
                                "stack": STACK.format(line=rng.randint(100, 400), **f)}
        e["jsonPayload"] = payload
        e["trace"] = trace
        return e
    f = fields(rng)
    line = rng.choice(WORKER_LINES).format(**f)
    sev = rng.choices(["INFO", "WARNING", "ERROR", None], weights=[80, 10, 4, 6])[0]
    e = envelope(rng, t, WORKER, "stdout" if sev in ("INFO", None) else "stderr", sev or "DEFAULT")
    if sev is None:
        del e["severity"]
    e["textPayload"] = line
    return e


if __name__ == "__main__":
    main()
