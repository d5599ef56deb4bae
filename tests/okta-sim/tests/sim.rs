//! The simulator proves each Okta behaviour it claims (README.md lists them and the known
//! differences from real Okta).

#![allow(clippy::unwrap_used)]

use chrono::{Duration, Utc};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use okta_sim::{LimitConfig, RunningSim, SeedConfig, SimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const TOKEN: &str = "00simTestToken";

async fn sim(seed: SeedConfig) -> RunningSim {
    okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn small() -> SeedConfig {
    SeedConfig {
        users: 25,
        groups: 7,
        memberships: 40,
        apps: 5,
        app_users: 30,
        app_groups: 8,
        idps: 3,
        zones: 3,
        clients: 3,
        backlog_events: 250,
        ..SeedConfig::default()
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(url: &str) -> reqwest::Response {
    http()
        .get(url)
        .header("authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
        .unwrap()
}

fn links(r: &reqwest::Response) -> (Option<String>, Option<String>) {
    let mut me = None;
    let mut next = None;
    for v in r.headers().get_all("link") {
        let v = v.to_str().unwrap();
        let url = v
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap()
            .to_string();
        if v.ends_with("rel=\"self\"") {
            me = Some(url);
        } else if v.ends_with("rel=\"next\"") {
            next = Some(url);
        }
    }
    (me, next)
}

/// Follows `next` links to the end; returns every item and the page count.
async fn walk(first: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut url = Some(first.to_string());
    let mut items = Vec::new();
    let mut pages = 0;
    while let Some(u) = url {
        let r = get(&u).await;
        assert_eq!(r.status(), StatusCode::OK, "{u}");
        let (me, next) = links(&r);
        assert!(me.is_some(), "every page has rel=self");
        let page: Vec<Value> = r.json().await.unwrap();
        assert!(page.len() <= limit, "{u} returned {} > {limit}", page.len());
        items.extend(page);
        pages += 1;
        url = next;
        assert!(pages < 1000);
    }
    (items, pages)
}

async fn control(sim: &RunningSim, method: reqwest::Method, path: &str, body: Value) -> Value {
    let r = http()
        .request(method, format!("{}/__sim{path}", sim.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

async fn directory(sim: &RunningSim) -> Value {
    http()
        .get(format!("{}/__sim/directory", sim.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn ids(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|v| v[field].as_str().unwrap().to_string())
        .collect()
}

fn set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn every_list_endpoint_pages_with_link_headers() {
    let sim = sim(small()).await;
    let dir = directory(&sim).await;
    let cases = [
        ("/api/v1/users?limit=10", 10, "id", set(&dir["users"])),
        ("/api/v1/groups?limit=3", 3, "id", set(&dir["groups"])),
        ("/api/v1/apps?limit=2", 2, "id", set(&dir["apps"])),
        ("/api/v1/idps?limit=2", 2, "id", set(&dir["idps"])),
        ("/api/v1/zones?limit=2", 2, "id", set(&dir["zones"])),
        (
            "/oauth2/v1/clients?limit=2",
            2,
            "client_id",
            set(&dir["clients"]),
        ),
    ];
    for (path, limit, field, expected) in cases {
        let (items, pages) = walk(&format!("{}{path}", sim.url), limit).await;
        let got = ids(&items, field);
        assert_eq!(got.len(), expected.len(), "{path}: no duplicates");
        assert_eq!(
            got.iter().cloned().collect::<BTreeSet<_>>(),
            expected,
            "{path}"
        );
        assert_eq!(
            pages,
            expected.len().div_ceil(limit),
            "{path}: the last page has no next link"
        );
    }
    // Sub-resources page the same way.
    let mut memberships = BTreeMap::<String, BTreeSet<String>>::new();
    for pair in dir["memberships"].as_array().unwrap() {
        memberships
            .entry(pair[0].as_str().unwrap().into())
            .or_default()
            .insert(pair[1].as_str().unwrap().into());
    }
    for (group, members) in &memberships {
        let (items, _) = walk(
            &format!("{}/api/v1/groups/{group}/users?limit=2", sim.url),
            2,
        )
        .await;
        assert_eq!(
            ids(&items, "id").into_iter().collect::<BTreeSet<_>>(),
            *members
        );
    }
    let mut app_users = 0;
    let mut app_groups = 0;
    for app in set(&dir["apps"]) {
        app_users += walk(&format!("{}/api/v1/apps/{app}/users?limit=3", sim.url), 3)
            .await
            .0
            .len();
        app_groups += walk(&format!("{}/api/v1/apps/{app}/groups?limit=1", sim.url), 1)
            .await
            .0
            .len();
    }
    assert_eq!(app_users, dir["app_users"].as_array().unwrap().len());
    assert_eq!(app_groups, dir["app_groups"].as_array().unwrap().len());
    // A user's groups, unpaged.
    let (user, groups) = memberships
        .iter()
        .next()
        .map(|(g, m)| (m.iter().next().unwrap().clone(), g.clone()))
        .unwrap();
    let of_user: Vec<Value> = get(&format!("{}/api/v1/users/{user}/groups", sim.url))
        .await
        .json()
        .await
        .unwrap();
    assert!(ids(&of_user, "id").contains(&groups));
    let expected = memberships
        .iter()
        .filter(|(_, m)| m.contains(&user))
        .count();
    assert_eq!(of_user.len(), expected);
    // Unknown ids are Okta 404s.
    let r = get(&format!("{}/api/v1/groups/00gnope/users", sim.url)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000007");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_org() {
    let a = directory(&sim(small()).await).await;
    let b = directory(&sim(small()).await).await;
    let c = directory(&sim(SeedConfig { seed: 7, ..small() }).await).await;
    assert_eq!(a, b);
    assert_ne!(a["users"], c["users"]);
}

#[tokio::test]
async fn users_hide_deprovisioned_unless_searched_and_filter_on_last_updated() {
    let sim = sim(small()).await;
    let before = Utc::now() - Duration::milliseconds(1);
    let report = control(
        &sim,
        reqwest::Method::POST,
        "/directory",
        json!({"update_users": 3, "deactivate_users": 2}),
    )
    .await;
    let deactivated = set(&report["deactivated_users"]);
    let (all, _) = walk(&format!("{}/api/v1/users?limit=200", sim.url), 200).await;
    assert!(
        ids(&all, "id").iter().all(|id| !deactivated.contains(id)),
        "DEPROVISIONED users are omitted by default"
    );
    assert_eq!(all.len(), 23);

    let search = format!(
        "{}/api/v1/users?search={}",
        sim.url,
        urlencode("status eq \"DEPROVISIONED\"")
    );
    assert_eq!(
        ids(&walk(&search, 200).await.0, "id")
            .into_iter()
            .collect::<BTreeSet<_>>(),
        deactivated
    );

    let since = before.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let changed: BTreeSet<String> = set(&report["updated_users"])
        .union(&deactivated)
        .cloned()
        .collect();
    for param in ["search", "filter"] {
        let url = format!(
            "{}/api/v1/users?{param}={}",
            sim.url,
            urlencode(&format!("lastUpdated gt \"{since}\""))
        );
        let got: BTreeSet<String> = ids(&walk(&url, 200).await.0, "id").into_iter().collect();
        assert_eq!(
            got, changed,
            "{param} on lastUpdated includes DEPROVISIONED users"
        );
    }
    // filter accepts only Okta's attributes; search takes profile attributes.
    let r = get(&format!(
        "{}/api/v1/users?filter={}",
        sim.url,
        urlencode("profile.mobilePhone pr")
    ))
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000031");
    let r = get(&format!(
        "{}/api/v1/users?search={}",
        sim.url,
        urlencode("profile.mobilePhone pr")
    ))
    .await;
    assert_eq!(r.json::<Vec<Value>>().await.unwrap().len(), 3);
}

#[tokio::test]
async fn groups_filter_on_membership_changes_and_expand_stats() {
    let sim = sim(small()).await;
    let since = (Utc::now() - Duration::milliseconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let report = control(
        &sim,
        reqwest::Method::POST,
        "/directory",
        json!({"add_memberships": 2, "remove_memberships": 1}),
    )
    .await;
    let touched: BTreeSet<String> = report["added_memberships"]
        .as_array()
        .unwrap()
        .iter()
        .chain(report["removed_memberships"].as_array().unwrap())
        .map(|p| p[0].as_str().unwrap().to_string())
        .collect();
    let filter = format!("lastUpdated gt \"{since}\" or lastMembershipUpdated gt \"{since}\"");
    let got = ids(
        &walk(
            &format!("{}/api/v1/groups?filter={}", sim.url, urlencode(&filter)),
            200,
        )
        .await
        .0,
        "id",
    );
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), touched);
    let groups: Vec<Value> = get(&format!("{}/api/v1/groups?expand=stats", sim.url))
        .await
        .json()
        .await
        .unwrap();
    let total: u64 = groups
        .iter()
        .map(|g| g["_embedded"]["stats"]["usersCount"].as_u64().unwrap())
        .sum();
    assert_eq!(
        total as usize,
        directory(&sim).await["memberships"]
            .as_array()
            .unwrap()
            .len()
    );
}

#[tokio::test]
async fn polling_requests_follow_persistence_order_and_never_end() {
    let sim = sim(small()).await;
    let since =
        (Utc::now() - Duration::days(2)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut url = format!(
        "{}/api/v1/logs?since={since}&sortOrder=ASCENDING&limit=100",
        sim.url
    );
    let mut seen = Vec::new();
    loop {
        let r = get(&url).await;
        let (_, next) = links(&r);
        let page: Vec<Value> = r.json().await.unwrap();
        url = next.expect("polling pages always have a next link, also when empty");
        if page.is_empty() {
            break;
        }
        seen.extend(ids(&page, "uuid"));
    }
    let all: Vec<String> = serde_json::from_value(
        control(&sim, reqwest::Method::GET, "/events", Value::Null).await["uuids"].clone(),
    )
    .unwrap();
    assert_eq!(seen, all, "every event, once, in persistence order");
    // The backlog has late-persisted events: persistence order is not published order.
    let published: Vec<String> = {
        let (items, _) = walk(
            &format!(
                "{}/api/v1/logs?since={since}&until={}&limit=1000",
                sim.url,
                urlencode(&Utc::now().to_rfc3339())
            ),
            1000,
        )
        .await;
        ids(&items, "uuid")
    };
    assert_eq!(published.len(), all.len());
    let out_of_order = published.iter().zip(&all).filter(|(a, b)| a != b).count();
    assert!(
        out_of_order > 0,
        "bounded requests order by published, polling by persistence: late events differ"
    );

    // The stored next link picks up what arrives later, including a late-persisted event.
    let late_published =
        (Utc::now() - Duration::minutes(10)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let added = control(&sim, reqwest::Method::POST, "/events", json!({"count": 2, "events": [{"eventType": "user.session.start", "published": late_published}]})).await;
    let page: Vec<Value> = get(&url).await.json().await.unwrap();
    assert_eq!(
        ids(&page, "uuid"),
        serde_json::from_value::<Vec<String>>(added["uuids"].clone()).unwrap()
    );
    // A client paging by the newest `published` it saw would never see the late event.
    let newest = page
        .iter()
        .map(|e| e["published"].as_str().unwrap().to_string())
        .max()
        .unwrap();
    let by_published: Vec<Value> = get(&format!(
        "{}/api/v1/logs?since={newest}&until={}",
        sim.url,
        urlencode(&Utc::now().to_rfc3339())
    ))
    .await
    .json()
    .await
    .unwrap();
    assert!(!ids(&by_published, "uuid").contains(&added["uuids"][2].as_str().unwrap().to_string()));
}

#[tokio::test]
async fn bounded_requests_order_by_published_and_end() {
    let sim = sim(small()).await;
    let since = urlencode(&(Utc::now() - Duration::days(1)).to_rfc3339());
    let until = urlencode(&Utc::now().to_rfc3339());
    for (order, limit) in [("ASCENDING", 40), ("DESCENDING", 70)] {
        let (items, pages) = walk(
            &format!(
                "{}/api/v1/logs?since={since}&until={until}&sortOrder={order}&limit={limit}",
                sim.url
            ),
            limit,
        )
        .await;
        assert_eq!(items.len(), 250);
        assert_eq!(pages, 250usize.div_ceil(limit));
        let published: Vec<String> = items
            .iter()
            .map(|e| e["published"].as_str().unwrap().to_string())
            .collect();
        let mut sorted = published.clone();
        sorted.sort();
        if order == "DESCENDING" {
            sorted.reverse();
        }
        assert_eq!(published, sorted, "{order}");
    }
}

#[tokio::test]
async fn log_parameters_are_validated_like_okta() {
    let sim = sim(small()).await;
    let old = urlencode(&(Utc::now() - Duration::days(181)).to_rfc3339());
    let r = get(&format!("{}/api/v1/logs?since={old}", sim.url)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000053");
    for bad in [
        "limit=lots",
        "since=yesterday",
        "sortOrder=SIDEWAYS",
        "filter=published%20gt%20%222026-01-01T00:00:00Z%22",
    ] {
        let r = get(&format!("{}/api/v1/logs?{bad}", sim.url)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let code = r.json::<Value>().await.unwrap()["errorCode"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(code == "E0000001" || code == "E0000031", "{bad}: {code}");
    }
    // limit above 1000 is capped; default is 100.
    let page: Vec<Value> = get(&format!(
        "{}/api/v1/logs?since={}",
        sim.url,
        urlencode(&(Utc::now() - Duration::days(1)).to_rfc3339())
    ))
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(page.len(), 100);
}

#[tokio::test]
async fn log_filter_and_keyword_search() {
    let sim = sim(small()).await;
    control(&sim, reqwest::Method::POST, "/events", json!({"events": [{"eventType": "system.api_token.create", "displayMessage": "Create API token Zebra"}]})).await;
    let since = urlencode(&(Utc::now() - Duration::days(1)).to_rfc3339());
    let until = urlencode(&Utc::now().to_rfc3339());
    let url = format!(
        "{}/api/v1/logs?since={since}&until={until}&filter={}",
        sim.url,
        urlencode("eventType eq \"system.api_token.create\"")
    );
    let (items, _) = walk(&url, 100).await;
    assert_eq!(items.len(), 1);
    let (items, _) = walk(
        &format!(
            "{}/api/v1/logs?since={since}&until={until}&q=zebra%20token",
            sim.url
        ),
        100,
    )
    .await;
    assert_eq!(items.len(), 1);
}

#[tokio::test]
async fn rate_limits_report_headers_and_throttle_with_okta_errors() {
    let sim = okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: small(),
        limits: LimitConfig {
            per_minute: BTreeMap::from([("/api/v1/logs".into(), 3)]),
            time_scale: 60.0,
            concurrency: None,
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let url = format!("{}/api/v1/logs?limit=1", sim.url);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = get(&url).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-rate-limit-limit"], "3");
        remaining.push(
            r.headers()["x-rate-limit-remaining"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let r = get(&url).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let reset: i64 = r.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let date = httpdate::parse_http_date(r.headers()["date"].to_str().unwrap()).unwrap();
    let date = chrono::DateTime::<Utc>::from(date).timestamp();
    assert!(
        (0..=2).contains(&(reset - date)),
        "reset is the window end (1 s windows at time scale 60)"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000047");
    // Other buckets are unaffected; the window resets.
    assert_eq!(
        get(&format!("{}/api/v1/users?limit=1", sim.url))
            .await
            .status(),
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get(&url).await.status(), StatusCode::OK);
    let counters = control(&sim, reqwest::Method::GET, "/counters", Value::Null).await;
    assert_eq!(counters["buckets"]["/api/v1/logs"]["throttled"], 1);
    assert_eq!(counters["buckets"]["/api/v1/logs"]["requests"], 5);
    // Another integration spending the bucket shows in the headers.
    control(
        &sim,
        reqwest::Method::POST,
        "/limits/spend",
        json!({"bucket": "/api/v1/logs", "requests": 2}),
    )
    .await;
    let r = get(&url).await;
    assert_eq!(r.headers()["x-rate-limit-remaining"], "0");
}

#[tokio::test]
async fn concurrency_limit_answers_429_with_zero_limit_and_remaining() {
    let sim = okta_sim::start(SimConfig {
        tokens: vec![TOKEN.into()],
        seed: small(),
        limits: LimitConfig {
            concurrency: Some(1),
            ..LimitConfig::default()
        },
        ..SimConfig::default()
    })
    .await
    .unwrap();
    control(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        json!({"latency_ms": 400}),
    )
    .await;
    let url = format!("{}/api/v1/users?limit=1", sim.url);
    let (a, b) = tokio::join!(get(&url), async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        get(&url).await
    });
    assert_eq!(a.status(), StatusCode::OK);
    assert_eq!(b.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(b.headers()["x-rate-limit-limit"], "0");
    assert_eq!(b.headers()["x-rate-limit-remaining"], "0");
    assert_eq!(b.json::<Value>().await.unwrap()["errorCode"], "E0000047");
}

#[tokio::test]
async fn ssws_tokens_are_checked_and_revocable() {
    let sim = sim(small()).await;
    let url = format!("{}/api/v1/users", sim.url);
    for auth in [None, Some("SSWS wrong"), Some("Bearer nope")] {
        let mut req = http().get(&url);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000011");
    }
    assert_eq!(get(&url).await.status(), StatusCode::OK);
    control(
        &sim,
        reqwest::Method::POST,
        "/tokens",
        json!({"revoke": [TOKEN]}),
    )
    .await;
    assert_eq!(get(&url).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn faults_can_be_switched_on() {
    let sim = sim(small()).await;
    let url = format!("{}/api/v1/logs?limit=5", sim.url);
    control(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        json!({"server_errors": 1}),
    )
    .await;
    let r = get(&url).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000009");
    assert_eq!(
        get(&url).await.status(),
        StatusCode::OK,
        "counted faults run out"
    );

    control(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        json!({"truncated_bodies": 1}),
    )
    .await;
    let body = get(&url).await.text().await.unwrap();
    assert!(
        serde_json::from_str::<Value>(&body).is_err(),
        "truncated JSON"
    );

    control(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        json!({"connection_resets": 1}),
    )
    .await;
    let dropped = match http()
        .get(&url)
        .header("authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
    {
        Err(e) => e.is_request() || e.is_body(),
        Ok(r) => r.text().await.is_err(),
    };
    assert!(
        dropped,
        "the connection drops before the response completes"
    );
    assert_eq!(get(&url).await.status(), StatusCode::OK);

    control(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        json!({"foreign_next": 1, "foreign_origin": "https://evil.example"}),
    )
    .await;
    let (me, next) = links(&get(&url).await);
    assert!(
        next.unwrap()
            .starts_with("https://evil.example/api/v1/logs")
    );
    assert!(me.unwrap().starts_with(&sim.url), "self stays honest");

    control(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        json!({"malformed_links": 1}),
    )
    .await;
    let r = get(&url).await;
    assert!(
        r.headers()
            .get_all("link")
            .iter()
            .any(|v| !v.to_str().unwrap().contains('>'))
    );

    control(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        json!({"date_skew_seconds": -3600}),
    )
    .await;
    let r = get(&url).await;
    let date = chrono::DateTime::<Utc>::from(
        httpdate::parse_http_date(r.headers()["date"].to_str().unwrap()).unwrap(),
    );
    assert!((Utc::now() - date - Duration::hours(1)).num_seconds().abs() <= 2);
    let reset: i64 = r.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (reset - date.timestamp()) <= 61,
        "reset is on the skewed clock too"
    );

    control(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        json!({"latency_ms": 300, "path_prefix": "/api/v1/logs"}),
    )
    .await;
    let started = std::time::Instant::now();
    get(&url).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let started = std::time::Instant::now();
    get(&format!("{}/api/v1/users", sim.url)).await;
    assert!(
        started.elapsed() < std::time::Duration::from_millis(300),
        "path_prefix narrows faults"
    );
}

#[tokio::test]
async fn only_complete_responses_count_as_served() {
    let sim = sim(SeedConfig {
        backlog_events: 20,
        ..small()
    })
    .await;
    let url = format!(
        "{}/api/v1/logs?limit=5&since={}",
        sim.url,
        urlencode(&(Utc::now() - Duration::days(1)).to_rfc3339())
    );
    control(
        &sim,
        reqwest::Method::PUT,
        "/faults",
        json!({"truncated_bodies": 1}),
    )
    .await;
    get(&url).await.text().await.unwrap();
    assert_eq!(
        control(&sim, reqwest::Method::GET, "/counters", Value::Null).await["served_events"],
        0
    );
    let page: Vec<Value> = get(&url).await.json().await.unwrap();
    let served: Vec<String> = serde_json::from_value(
        control(&sim, reqwest::Method::GET, "/served-events", Value::Null).await["uuids"].clone(),
    )
    .unwrap();
    assert_eq!(served, ids(&page, "uuid"));
}

#[tokio::test]
async fn directory_changes_write_matching_system_log_events() {
    let sim = sim(small()).await;
    let report = control(&sim, reqwest::Method::POST, "/directory", json!({"delete_users": 1, "remove_memberships": 1, "add_memberships": 1, "remove_app_users": 1})).await;
    let since = urlencode(&(Utc::now() - Duration::minutes(1)).to_rfc3339());
    let events: Vec<Value> = get(&format!("{}/api/v1/logs?since={since}&limit=1000", sim.url))
        .await
        .json()
        .await
        .unwrap();
    let types: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["eventType"].as_str())
        .collect();
    for t in [
        "user.lifecycle.deactivate",
        "user.lifecycle.delete.initiated",
        "group.user_membership.remove",
        "group.user_membership.add",
        "application.user_membership.remove",
    ] {
        assert!(types.contains(t), "{t} in {types:?}");
    }
    let deleted = report["deleted_users"][0].as_str().unwrap();
    let delete_event = events
        .iter()
        .find(|e| e["eventType"] == "user.lifecycle.delete.initiated")
        .unwrap();
    assert_eq!(delete_event["target"][0]["id"], deleted);
    assert!(!set(&directory(&sim).await["users"]).contains(deleted));
}

#[tokio::test]
async fn live_mode_keeps_producing_events() {
    let sim = sim(SeedConfig {
        backlog_events: 0,
        ..small()
    })
    .await;
    control(
        &sim,
        reqwest::Method::POST,
        "/live",
        json!({"events_per_second": 100, "late_share": 0.5, "max_late_seconds": 60}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    control(
        &sim,
        reqwest::Method::POST,
        "/live",
        json!({"events_per_second": 0}),
    )
    .await;
    let n = control(&sim, reqwest::Method::GET, "/counters", Value::Null).await["log_events"]
        .as_u64()
        .unwrap();
    assert!(n >= 20, "{n} events");
    // Half of them were persisted late: persistence order and published order differ.
    let since = urlencode(&(Utc::now() - Duration::hours(1)).to_rfc3339());
    let polled: Vec<Value> = get(&format!("{}/api/v1/logs?since={since}&limit=1000", sim.url))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(polled.len() as u64, n);
    let published: Vec<&str> = polled
        .iter()
        .map(|e| e["published"].as_str().unwrap())
        .collect();
    let mut sorted = published.clone();
    sorted.sort();
    assert!(published != sorted, "some live events are persisted late");
}

#[tokio::test]
async fn the_binary_prints_its_address_and_serves() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_okta-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--users",
            "3",
            "--backlog-events",
            "2",
        ])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    let url = line
        .strip_prefix("okta-sim listening on ")
        .expect(&line)
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"));
    let users: Vec<Value> = get(&format!("{url}/api/v1/users"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users.len(), 3);
    child.kill().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// OAuth 2.0: private_key_jwt, DPoP, client secrets.

struct Key {
    encoding: EncodingKey,
    jwk: Jwk,
    alg: Algorithm,
    kid: String,
}

fn es256(kid: &str) -> Key {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let doc = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    let encoding = EncodingKey::from_ec_der(doc.as_ref());
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.into());
    Key {
        encoding,
        jwk,
        alg: Algorithm::ES256,
        kid: kid.into(),
    }
}

fn rs256(kid: &str) -> Key {
    use aws_lc_rs::encoding::AsDer;
    use base64::Engine;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
    // jsonwebtoken reads PKCS#8 RSA keys from PEM; the label is assembled so no key-shaped
    // literal sits in the source.
    let label = format!("{} KEY", "PRIVATE");
    let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    );
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.into());
    Key {
        encoding,
        jwk,
        alg: Algorithm::RS256,
        kid: kid.into(),
    }
}

fn assertion(key: &Key, client_id: &str, aud: &str, jti: &str, exp_in: i64) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    let now = Utc::now().timestamp();
    let claims = json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + exp_in, "jti": jti});
    jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
}

fn proof(
    key: &Key,
    method: &str,
    url: &str,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> String {
    use base64::Engine;
    use sha2::Digest;
    let mut header = Header::new(key.alg);
    header.typ = Some("dpop+jwt".into());
    let mut public = key.jwk.clone();
    public.common.key_id = None;
    header.jwk = Some(public);
    let mut claims = json!({"htm": method, "htu": url, "iat": Utc::now().timestamp(), "jti": okta_sim::ids::random_suffix(20)});
    if let Some(n) = nonce {
        claims["nonce"] = n.into();
    }
    if let Some(t) = access_token {
        claims["ath"] = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(t.as_bytes()))
            .into();
    }
    jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
}

async fn token_request(
    sim: &RunningSim,
    form: &[(&str, &str)],
    dpop: Option<String>,
) -> reqwest::Response {
    let mut req = http()
        .post(format!("{}/oauth2/v1/token", sim.url))
        .form(form);
    if let Some(p) = dpop {
        req = req.header("dpop", p);
    }
    req.send().await.unwrap()
}

fn cc_form<'a>(jwt: &'a str, scope: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("scope", scope),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", jwt),
    ]
}

#[tokio::test]
async fn private_key_jwt_tokens_are_verified_scoped_and_expire() {
    let sim = sim(small()).await;
    let old = es256("k1");
    let new = rs256("k2");
    control(&sim, reqwest::Method::POST, "/oauth/clients", json!({"client_id": "0oasvc", "jwks": [old.jwk, new.jwk], "scopes": ["okta.logs.read", "okta.users.read"]})).await;
    let aud = format!("{}/oauth2/v1/token", sim.url);

    for key in [&old, &new] {
        let jwt = assertion(key, "0oasvc", &aud, &format!("j-{}", key.kid), 300);
        let r = token_request(&sim, &cc_form(&jwt, "okta.logs.read"), None).await;
        assert_eq!(r.status(), StatusCode::OK, "{}", key.kid);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        let access = body["access_token"].as_str().unwrap();
        let ok = http()
            .get(format!("{}/api/v1/logs?limit=1", sim.url))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        let denied = http()
            .get(format!("{}/api/v1/groups", sim.url))
            .bearer_auth(access)
            .send()
            .await
            .unwrap();
        assert_eq!(
            denied.status(),
            StatusCode::FORBIDDEN,
            "okta.groups.read was not granted"
        );
        assert!(
            denied.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("insufficient_scope")
        );
        // The same assertion (same jti) cannot be used twice.
        let again = token_request(&sim, &cc_form(&jwt, "okta.logs.read"), None).await;
        assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            again.json::<Value>().await.unwrap()["error"],
            "invalid_client"
        );
    }
    let stranger = es256("k1");
    let cases = [
        (
            assertion(
                &old,
                "0oasvc",
                "https://other.example/oauth2/v1/token",
                "j-aud",
                300,
            ),
            "wrong aud",
        ),
        (
            assertion(&stranger, "0oasvc", &aud, "j-key", 300),
            "unregistered key",
        ),
        (assertion(&old, "0oasvc", &aud, "j-exp", -120), "expired"),
        (
            assertion(&old, "0oasvc", &aud, "j-long", 7200),
            "exp more than an hour away",
        ),
        (
            assertion(&old, "0oanobody", &aud, "j-iss", 300),
            "unknown client",
        ),
        ("not.a.jwt".to_string(), "garbage"),
    ];
    for (jwt, why) in cases {
        let r = token_request(&sim, &cc_form(&jwt, "okta.logs.read"), None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{why}");
        assert_eq!(
            r.json::<Value>().await.unwrap()["error"],
            "invalid_client",
            "{why}"
        );
    }
    let jwt = assertion(&old, "0oasvc", &aud, "j-scope", 300);
    let r = token_request(&sim, &cc_form(&jwt, "okta.apps.read"), None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_scope");

    // Tokens expire.
    control(
        &sim,
        reqwest::Method::POST,
        "/oauth/settings",
        json!({"token_ttl_seconds": 1}),
    )
    .await;
    let jwt = assertion(&old, "0oasvc", &aud, "j-ttl", 300);
    let body: Value = token_request(&sim, &cc_form(&jwt, "okta.logs.read"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["expires_in"], 1);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = http()
        .get(format!("{}/api/v1/logs", sim.url))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000011");
}

#[tokio::test]
async fn dpop_requires_a_proof_a_nonce_and_binds_the_token() {
    let sim = sim(small()).await;
    let client_key = es256("c1");
    let dpop_key = es256("d1");
    control(&sim, reqwest::Method::POST, "/oauth/clients", json!({"client_id": "0oadpop", "jwks": [client_key.jwk], "scopes": ["okta.logs.read"], "dpop": true})).await;
    let token_url = format!("{}/oauth2/v1/token", sim.url);

    let jwt = assertion(&client_key, "0oadpop", &token_url, "a1", 300);
    let r = token_request(&sim, &cc_form(&jwt, "okta.logs.read"), None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_dpop_proof"
    );

    let jwt = assertion(&client_key, "0oadpop", &token_url, "a2", 300);
    let r = token_request(
        &sim,
        &cc_form(&jwt, "okta.logs.read"),
        Some(proof(&dpop_key, "POST", &token_url, None, None)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_string();
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "use_dpop_nonce");

    // A fresh assertion (new jti) and a proof with the nonce.
    let jwt = assertion(&client_key, "0oadpop", &token_url, "a3", 300);
    let r = token_request(
        &sim,
        &cc_form(&jwt, "okta.logs.read"),
        Some(proof(&dpop_key, "POST", &token_url, Some(&nonce), None)),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().unwrap();

    let resource = format!("{}/api/v1/logs", sim.url);
    let call = |auth: String, proof: Option<String>| {
        let mut req = http()
            .get(format!("{resource}?limit=1"))
            .header("authorization", auth);
        if let Some(p) = proof {
            req = req.header("dpop", p);
        }
        req.send()
    };
    let ok = call(
        format!("DPoP {access}"),
        Some(proof(&dpop_key, "GET", &resource, None, Some(access))),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let cases = [
        (
            format!("Bearer {access}"),
            None,
            "bound token used as Bearer",
        ),
        (format!("DPoP {access}"), None, "no proof"),
        (
            format!("DPoP {access}"),
            Some(proof(
                &dpop_key,
                "GET",
                &resource,
                None,
                Some("other-token"),
            )),
            "wrong ath",
        ),
        (
            format!("DPoP {access}"),
            Some(proof(&es256("x"), "GET", &resource, None, Some(access))),
            "another key",
        ),
        (
            format!("DPoP {access}"),
            Some(proof(&dpop_key, "POST", &resource, None, Some(access))),
            "wrong htm",
        ),
    ];
    for (auth, p, why) in cases {
        let r = call(auth, p).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{why}");
    }
}

#[tokio::test]
async fn api_service_integrations_use_a_client_secret() {
    let sim = sim(small()).await;
    control(
        &sim,
        reqwest::Method::POST,
        "/oauth/clients",
        json!({"client_id": "0oaoin", "client_secret": "s3cret", "scopes": ["okta.users.read"]}),
    )
    .await;
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "okta.users.read"),
    ];
    let ok = http()
        .post(format!("{}/oauth2/v1/token", sim.url))
        .basic_auth("0oaoin", Some("s3cret"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let bad = http()
        .post(format!("{}/oauth2/v1/token", sim.url))
        .basic_auth("0oaoin", Some("rotated"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
