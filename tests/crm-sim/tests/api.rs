//! End-to-end tests of the simulator over real HTTP (ureq, 127.0.0.1 only).

use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Map, Value, json};
use sluice_crm_sim::{CrmSim, Faults, SimConfig};

const CONTACTS: &str = "/crm/v3/objects/contacts";

/// A response: status, headers (lowercase names), body text.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A tiny client: one keep-alive agent, an optional bearer token.
struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Client {
    fn new(sim: &CrmSim) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(5)))
            .build();
        Client {
            agent: config.into(),
            base: sim.base_url(),
            token: None,
        }
    }

    /// A client holding a fresh client-credentials token.
    fn authed(sim: &CrmSim) -> Client {
        let mut client = Client::new(sim);
        let reply = client.form(
            "/oauth/v1/token",
            "grant_type=client_credentials&client_id=sluice-sim-client&client_secret=sluice-sim-secret",
            &[],
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        client.token = Some(reply.json()["access_token"].as_str().unwrap().to_owned());
        client
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut builder = ureq::http::Request::builder().method(method).uri(url);
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let result = match body {
            Some(body) => self.agent.run(builder.body(body).unwrap()),
            None => self.agent.run(builder.body(()).unwrap()),
        };
        let mut response = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        Reply {
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: response.body_mut().read_to_string().unwrap(),
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], None)
    }

    fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(
            "POST",
            path,
            &[("content-type", "application/json")],
            Some(body.to_string()),
        )
    }

    fn form(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.send("POST", path, &all, Some(body.to_owned()))
    }
}

fn props(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

fn seeded(n: usize) -> SimConfig {
    SimConfig {
        seed_contacts: (1..=n)
            .map(|i| props(json!({ "email": format!("user{i}@example.com"), "firstname": format!("User{i}") })))
            .collect(),
        ..SimConfig::default()
    }
}

fn ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn token_issue_expiry_and_refresh() {
    let sim = CrmSim::start(seeded(1));
    let anon = Client::new(&sim);

    // Client credentials in the form.
    let issued = anon.form(
        "/oauth/v1/token",
        "grant_type=client_credentials&client_id=sluice-sim-client&client_secret=sluice-sim-secret",
        &[],
    );
    assert_eq!(issued.status, 200);
    let issued = issued.json();
    assert_eq!(issued["token_type"], "bearer");
    assert_eq!(issued["expires_in"], 1800);
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();

    // ... or as HTTP Basic (base64 of "sluice-sim-client:sluice-sim-secret").
    let basic = anon.form(
        "/oauth/v1/token",
        "grant_type=client_credentials",
        &[(
            "authorization",
            "Basic c2x1aWNlLXNpbS1jbGllbnQ6c2x1aWNlLXNpbS1zZWNyZXQ=",
        )],
    );
    assert_eq!(basic.status, 200, "{}", basic.body);

    let bad = anon.form(
        "/oauth/v1/token",
        "grant_type=client_credentials&client_id=sluice-sim-client&client_secret=nope",
        &[],
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["status"], "BAD_CLIENT_ID");

    // No credentials, unknown token.
    let missing = anon.get(CONTACTS);
    assert_eq!(missing.status, 401);
    let missing = missing.json();
    assert_eq!(missing["category"], "INVALID_AUTHENTICATION");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .starts_with("Authentication credentials not found")
    );
    assert_eq!(missing["correlationId"].as_str().unwrap().len(), 36);
    let unknown = anon.send("GET", CONTACTS, &[("authorization", "Bearer forged")], None);
    assert_eq!(unknown.json()["category"], "INVALID_AUTHENTICATION");

    let mut client = Client::new(&sim);
    client.token = Some(access.clone());
    assert_eq!(client.get(CONTACTS).status, 200);

    // Expire every current token.
    sim.set_faults(Faults {
        expire_tokens_now: true,
        ..Faults::default()
    });
    let expired = client.get(CONTACTS);
    assert_eq!(expired.status, 401);
    assert_eq!(expired.json()["category"], "EXPIRED_AUTHENTICATION");

    // Refresh: a new access token, the same refresh token; the old one stays expired.
    let refreshed = anon.form(
        "/oauth/v1/token",
        &format!("grant_type=refresh_token&refresh_token={refresh}&client_id=sluice-sim-client&client_secret=sluice-sim-secret"),
        &[],
    );
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let refreshed = refreshed.json();
    assert_eq!(refreshed["refresh_token"], refresh.as_str());
    assert_ne!(refreshed["access_token"], access.as_str());
    assert_eq!(client.get(CONTACTS).status, 401);
    client.token = Some(refreshed["access_token"].as_str().unwrap().to_owned());
    assert_eq!(client.get(CONTACTS).status, 200);

    let bad_refresh = anon.form(
        "/oauth/v1/token",
        "grant_type=refresh_token&refresh_token=sim-rt-999&client_id=sluice-sim-client&client_secret=sluice-sim-secret",
        &[],
    );
    assert_eq!(bad_refresh.json()["status"], "BAD_REFRESH_TOKEN");

    // Revoked access: every call 401 INVALID_AUTHENTICATION, fresh tokens too.
    sim.set_faults(Faults {
        reject_all_auth: true,
        ..Faults::default()
    });
    let revoked = client.get(CONTACTS);
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.json()["category"], "INVALID_AUTHENTICATION");
    assert_eq!(Client::authed(&sim).get(CONTACTS).status, 401);
}

#[test]
fn zero_ttl_tokens_are_expired_and_api_keys_work() {
    let sim = CrmSim::start(SimConfig {
        token_ttl_secs: 0,
        api_key: Some("pat-sim-key".into()),
        ..SimConfig::default()
    });
    let expired = Client::authed(&sim).get(CONTACTS);
    assert_eq!(expired.json()["category"], "EXPIRED_AUTHENTICATION");

    let anon = Client::new(&sim);
    assert_eq!(
        anon.send("GET", CONTACTS, &[("x-api-key", "pat-sim-key")], None)
            .status,
        200
    );
    assert_eq!(
        anon.send(
            "GET",
            CONTACTS,
            &[("authorization", "Bearer pat-sim-key")],
            None
        )
        .status,
        200
    );
    let wrong = anon.send("GET", CONTACTS, &[("x-api-key", "nope")], None);
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.json()["category"], "INVALID_AUTHENTICATION");
}

#[test]
fn list_pages_with_after() {
    let mut config = seeded(5);
    config.seed_contacts[0].insert("plan_tier".into(), json!("gold"));
    let sim = CrmSim::start(config);
    let client = Client::authed(&sim);

    let first = client.get(&format!("{CONTACTS}?limit=2"));
    assert_eq!(first.status, 200);
    let first = first.json();
    assert_eq!(ids(&first), ["1", "2"]);
    let contact = &first["results"][0];
    assert_eq!(contact["properties"]["email"], "user1@example.com");
    assert_eq!(contact["properties"]["hs_object_id"], "1");
    assert_eq!(contact["archived"], false);
    assert!(
        contact["properties"].get("plan_tier").is_none(),
        "custom properties only on request"
    );
    // HubSpot's token form: base64, percent-encoded already; sent back as
    // it is, it works; encoded again, it is refused.
    let token = first["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(token, "AAAAAAAAAAI%3D");
    let twice = token.replace('%', "%25");
    assert_eq!(
        client
            .get(&format!("{CONTACTS}?limit=2&after={twice}"))
            .status,
        400
    );

    let link = first["paging"]["next"]["link"].as_str().unwrap();
    let second = client.get(link).json();
    assert_eq!(ids(&second), ["3", "4"]);
    let after = second["paging"]["next"]["after"].as_str().unwrap();
    let last = client
        .get(&format!("{CONTACTS}?limit=2&after={after}"))
        .json();
    assert_eq!(ids(&last), ["5"]);
    assert!(
        last.get("paging").is_none(),
        "no paging on the last page: {last}"
    );

    let selected = client
        .get(&format!("{CONTACTS}?limit=2&properties=plan_tier,phone"))
        .json();
    assert_eq!(selected["results"][0]["properties"]["plan_tier"], "gold");
    assert_eq!(selected["results"][0]["properties"]["phone"], Value::Null);
    assert!(selected["results"][0]["properties"].get("email").is_none());

    let too_many = client.get(&format!("{CONTACTS}?limit=101"));
    assert_eq!(too_many.status, 400);
    assert_eq!(too_many.json()["category"], "VALIDATION_ERROR");
}

#[test]
fn search_updated_since() {
    let sim = CrmSim::start(seeded(3));
    let client = Client::authed(&sim);
    let since = sim.contacts()[2].updated_at.clone();

    let update = client.post(
        &format!("{CONTACTS}/batch/update"),
        &json!({ "inputs": [{ "id": "2", "properties": { "lastname": "Changed" } }] }),
    );
    assert_eq!(update.status, 200, "{}", update.body);
    let updated_at = sim.contacts()[1].updated_at.clone();
    assert!(updated_at > since);

    let search = |operator: &str, value: Value, extra: Value| {
        let mut body = json!({
            "filterGroups": [{ "filters": [{ "propertyName": "lastmodifieddate", "operator": operator, "value": value }] }],
            "sorts": [{ "propertyName": "lastmodifieddate", "direction": "ASCENDING" }],
            "properties": ["lastname"],
        });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap());
        client.post(&format!("{CONTACTS}/search"), &body)
    };

    let changed = search("GT", json!(since), json!({}));
    assert_eq!(changed.status, 200, "{}", changed.body);
    let changed = changed.json();
    assert_eq!(changed["total"], 1);
    assert_eq!(ids(&changed), ["2"]);
    assert_eq!(changed["results"][0]["properties"]["lastname"], "Changed");

    // The same as epoch milliseconds; GTE includes the boundary.
    let since_ms = sim_ms(&since);
    assert_eq!(
        ids(&search("GT", json!(since_ms.to_string()), json!({})).json()),
        ["2"]
    );
    let gte = search("GTE", json!(since_ms), json!({})).json();
    assert_eq!(ids(&gte), ["3", "2"], "sorted by lastmodifieddate");

    // Paging with after.
    let page1 = search("GTE", json!(0), json!({ "limit": 2 })).json();
    assert_eq!(page1["total"], 3);
    assert_eq!(ids(&page1), ["1", "3"]);
    let after = page1["paging"]["next"]["after"].clone();
    let page2 = search("GTE", json!(0), json!({ "limit": 2, "after": after })).json();
    assert_eq!(ids(&page2), ["2"]);
    assert!(page2.get("paging").is_none());

    let unsupported = client.post(
        &format!("{CONTACTS}/search"),
        &json!({ "filterGroups": [{ "filters": [{ "propertyName": "firstname", "operator": "CONTAINS_TOKEN", "value": "x" }] }] }),
    );
    assert_eq!(unsupported.status, 400);
    assert_eq!(unsupported.json()["category"], "VALIDATION_ERROR");
}

/// Epoch milliseconds of a `YYYY-MM-DDTHH:MM:SS.mmmZ` timestamp.
fn sim_ms(iso: &str) -> u64 {
    let n = |r: std::ops::Range<usize>| iso[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let ms = days * 86_400_000
        + n(11..13) * 3_600_000
        + n(14..16) * 60_000
        + n(17..19) * 1000
        + n(20..23);
    u64::try_from(ms).unwrap()
}

#[test]
fn batch_create_reports_each_failed_input() {
    let sim = CrmSim::start(seeded(1));
    let client = Client::authed(&sim);
    let reply = client.post(
        &format!("{CONTACTS}/batch/create"),
        &json!({ "inputs": [
            { "objectWriteTraceId": "t0", "properties": { "email": "new@example.com", "firstname": "New", "plan_tier": "gold" } },
            { "objectWriteTraceId": "t1", "properties": { "email": "not-an-email" } },
            { "objectWriteTraceId": "t2", "properties": { "email": "USER1@example.com" } },
            { "objectWriteTraceId": "t3", "properties": { "email": "long@example.com", "firstname": "x".repeat(101), "lastname": "y".repeat(101) } },
            { "objectWriteTraceId": "t4", "properties": { "email": "second@example.com", "age": 42 } },
        ]}),
    );
    assert_eq!(reply.status, 207, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["status"], "COMPLETE");
    assert_eq!(body["numErrors"], 3);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["properties"]["plan_tier"], "gold");
    assert_eq!(results[1]["properties"]["age"], "42");
    // Results and errors carry the input's trace id, HubSpot's way of
    // tying them to inputs (there is no `inputIndex`).
    assert_eq!(results[0]["objectWriteTraceId"], "t0");
    assert_eq!(results[1]["objectWriteTraceId"], "t4");

    let errors = body["errors"].as_array().unwrap();
    assert!(errors.iter().all(|e| e.get("inputIndex").is_none()));
    let by_index = |i: u64| {
        errors
            .iter()
            .find(|e| e["context"]["objectWriteTraceId"] == json!([format!("t{i}")]))
            .unwrap()
    };

    let invalid = by_index(1);
    assert_eq!(invalid["status"], "error");
    assert_eq!(invalid["category"], "VALIDATION_ERROR");
    assert!(
        invalid["message"]
            .as_str()
            .unwrap()
            .starts_with("Property values were not valid: ")
    );
    assert_eq!(invalid["errors"][0]["code"], "INVALID_EMAIL");
    assert_eq!(
        invalid["errors"][0]["context"]["propertyName"],
        json!(["email"])
    );
    // The details are also embedded in the message, as JSON.
    assert!(
        invalid["message"]
            .as_str()
            .unwrap()
            .contains(r#""error":"INVALID_EMAIL","isValid":false"#),
        "{invalid}"
    );

    let duplicate = by_index(2);
    assert_eq!(duplicate["category"], "OBJECT_ALREADY_EXISTS");
    assert_eq!(
        duplicate["message"],
        "Contact already exists. Existing ID: 1"
    );
    assert_eq!(duplicate["context"]["existingId"], json!(["1"]));

    let long = by_index(3);
    assert_eq!(long["category"], "VALIDATION_ERROR");
    let codes: Vec<&str> = long["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["TOO_LONG", "TOO_LONG"]);
    assert_eq!(
        long["context"]["propertyName"],
        json!(["firstname", "lastname"])
    );

    let emails: Vec<String> = sim
        .contacts()
        .iter()
        .map(|c| c.properties["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        emails,
        ["user1@example.com", "new@example.com", "second@example.com"]
    );

    let all_ok = client.post(
        &format!("{CONTACTS}/batch/create"),
        &json!({ "inputs": [{ "properties": { "email": "third@example.com" } }] }),
    );
    assert_eq!(all_ok.status, 201);
    assert!(all_ok.json().get("errors").is_none());

    // A property that does not exist refuses the whole batch, as HubSpot
    // does, with the details embedded in the message.
    let unknown = client.post(
        &format!("{CONTACTS}/batch/create"),
        &json!({ "inputs": [
            { "properties": { "email": "fourth@example.com" } },
            { "properties": { "email": "fifth@example.com", "First Name": "y" } },
        ]}),
    );
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    let unknown = unknown.json();
    assert_eq!(unknown["category"], "VALIDATION_ERROR");
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains(r#""error":"PROPERTY_DOESNT_EXIST","isValid":false,"message":"Property \"First Name\" does not exist","name":"First Name""#),
        "{unknown}"
    );
    assert_eq!(sim.contacts().len(), 4);

    let too_big = json!({ "inputs": vec![json!({ "properties": {} }); 101] });
    let rejected = client.post(&format!("{CONTACTS}/batch/create"), &too_big);
    assert_eq!(rejected.status, 400);
    assert_eq!(rejected.json()["category"], "VALIDATION_ERROR");
}

#[test]
fn custom_property_plan_limit() {
    let mut config = seeded(1);
    config.max_custom_properties = Some(1);
    let sim = CrmSim::start(config);
    let client = Client::authed(&sim);
    let reply = client.post(
        &format!("{CONTACTS}/batch/create"),
        &json!({ "inputs": [
            { "objectWriteTraceId": "a", "properties": { "email": "a@example.com", "plan_tier": "gold" } },
            { "objectWriteTraceId": "b", "properties": { "email": "b@example.com", "plan_tier": "free", "region": "eu" } },
        ]}),
    );
    assert_eq!(reply.status, 207, "{}", reply.body);
    let error = &reply.json()["errors"][0];
    assert_eq!(error["context"]["objectWriteTraceId"], json!(["b"]));
    assert_eq!(error["category"], "LIMIT_EXCEEDED");
    assert_eq!(error["subCategory"], "CUSTOM_PROPERTY_LIMIT");
    assert_eq!(error["errors"][0]["code"], "PROPERTY_LIMIT_REACHED");
    assert_eq!(error["context"]["propertyName"], json!(["region"]));
    assert_eq!(sim.contacts().len(), 2);
}

#[test]
fn updating_a_deleted_contact_is_not_found() {
    let sim = CrmSim::start(seeded(2));
    let client = Client::authed(&sim);
    let deleted = client.send("DELETE", &format!("{CONTACTS}/1"), &[], None);
    assert_eq!(deleted.status, 204);
    assert_eq!(ids(&client.get(CONTACTS).json()), ["2"]);
    assert_eq!(client.get(&format!("{CONTACTS}/1")).status, 404);
    assert_eq!(sim.contacts().len(), 1);

    let reply = client.post(
        &format!("{CONTACTS}/batch/update"),
        &json!({ "inputs": [
            { "id": "1", "properties": { "firstname": "Ghost" } },
            { "id": "2", "properties": { "firstname": "Still here" } },
        ]}),
    );
    assert_eq!(reply.status, 207, "{}", reply.body);
    let body = reply.json();
    assert_eq!(ids(&body), ["2"]);
    let error = &body["errors"][0];
    assert_eq!(error["category"], "OBJECT_NOT_FOUND");
    assert_eq!(error["context"]["ids"], json!(["1"]));
    assert_eq!(sim.contacts()[0].properties["firstname"], "Still here");
}

#[test]
fn upsert_creates_then_updates() {
    let sim = CrmSim::start(SimConfig::default());
    let client = Client::authed(&sim);
    let upsert = |firstname: &str| {
        client.post(
            &format!("{CONTACTS}/batch/upsert"),
            &json!({ "inputs": [{ "idProperty": "email", "id": "Ada@Example.com", "properties": { "firstname": firstname } }] }),
        )
    };
    let created = upsert("Ada");
    assert_eq!(created.status, 200, "{}", created.body);
    let created = created.json();
    assert_eq!(created["results"][0]["new"], true);
    let id = created["results"][0]["id"].clone();

    let updated = upsert("Augusta").json();
    assert_eq!(updated["results"][0]["new"], false);
    assert_eq!(updated["results"][0]["id"], id);
    let contacts = sim.contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].properties["email"], "ada@example.com");
    assert_eq!(contacts[0].properties["firstname"], "Augusta");

    let dup = client.post(
        &format!("{CONTACTS}/batch/upsert"),
        &json!({ "inputs": [
            { "idProperty": "email", "id": "x@example.com", "properties": {} },
            { "idProperty": "email", "id": "X@example.com", "properties": {} },
        ]}),
    );
    assert_eq!(dup.status, 400);
    assert!(
        dup.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Duplicate IDs")
    );
}

#[test]
fn rate_limit_every_nth_with_retry_after() {
    let sim = CrmSim::start(seeded(1));
    let client = Client::authed(&sim);
    sim.set_faults(Faults {
        rate_limit_every: Some(3),
        ..Faults::default()
    });
    let statuses: Vec<u16> = (0..6).map(|_| client.get(CONTACTS).status).collect();
    assert_eq!(statuses, [200, 200, 429, 200, 200, 429]);

    // Counted per route family: the first search is not throttled.
    let search = client.post(&format!("{CONTACTS}/search"), &json!({}));
    assert_eq!(search.status, 200);

    assert_eq!(client.get(CONTACTS).status, 200);
    assert_eq!(client.get(CONTACTS).status, 200);
    let throttled = client.get(CONTACTS);
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.header("retry-after"), Some("1"));
    let body = throttled.json();
    assert_eq!(body["category"], "RATE_LIMITS");
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(body["policyName"], "SECONDLY");

    sim.set_faults(Faults {
        rate_limit_every: Some(1),
        retry_after_secs: 0,
        ..Faults::default()
    });
    assert_eq!(client.get(CONTACTS).header("retry-after"), Some("0"));
    assert_eq!(sim.requests().last().unwrap().status, 429);

    // The daily quota: HubSpot's policy name and message, no Retry-After.
    sim.set_faults(Faults {
        rate_limit_every: Some(1),
        rate_limit_policy: Some("DAILY".into()),
        ..Faults::default()
    });
    let daily = client.get(CONTACTS);
    assert_eq!(daily.status, 429);
    assert_eq!(daily.header("retry-after"), None);
    let body = daily.json();
    assert_eq!(body["policyName"], "DAILY");
    assert_eq!(body["message"], "You have reached your daily limit.");
}

#[test]
fn a_canceled_batch_writes_nothing() {
    let sim = CrmSim::start(seeded(1));
    let client = Client::authed(&sim);
    sim.set_faults(Faults {
        cancel_batch_every: Some(2),
        ..Faults::default()
    });
    let upsert = |email: &str| {
        client.post(
            &format!("{CONTACTS}/batch/upsert"),
            &json!({"inputs": [{"idProperty": "email", "id": email, "properties": {"firstname": "X"}}]}),
        )
    };
    assert_eq!(upsert("a@example.com").json()["status"], "COMPLETE");
    let canceled = upsert("b@example.com");
    assert_eq!(canceled.status, 200);
    assert_eq!(canceled.json()["status"], "CANCELED");
    assert_eq!(canceled.json()["results"], json!([]));
    assert_eq!(sim.contacts().len(), 2);
}

#[test]
fn strict_mode_refuses_requests_outside_hubspots_document() {
    let spec = sluice_crm_sim::OpenApi::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/hubspot/contacts-v3.json"
    ))
    .unwrap();
    let mut config = seeded(3);
    config.openapi = Some(std::sync::Arc::new(spec));
    let sim = CrmSim::start(config);
    let client = Client::authed(&sim);
    // Conforming: answered as usual.
    let search = client.post(
        &format!("{CONTACTS}/search"),
        &json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "IN",
                                               "values": ["user1@example.com", "user3@example.com"]}]}],
                "sorts": ["hs_object_id"], "properties": ["email"], "limit": 10, "after": "0"}),
    );
    assert_eq!(search.status, 200, "{}", search.body);
    assert_eq!(ids(&search.json()), ["1", "3"]);
    assert!(sim.spec_violations().is_empty());
    // A number as a property value: refused, and recorded.
    let refused = client.post(
        &format!("{CONTACTS}/batch/update"),
        &json!({"inputs": [{"id": "1", "properties": {"score": 3}}]}),
    );
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["category"], "VALIDATION_ERROR");
    let violations = sim.spec_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].contains("/inputs/0/properties/score"),
        "{violations:?}"
    );
}

#[test]
fn bad_gateway_every_nth_is_html() {
    let sim = CrmSim::start(seeded(1));
    let client = Client::authed(&sim);
    sim.set_faults(Faults {
        bad_gateway_every: Some(2),
        ..Faults::default()
    });
    let replies: Vec<Reply> = (0..4).map(|_| client.get(CONTACTS)).collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 502, 200, 502]);
    assert!(
        replies[1]
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(replies[1].body.contains("502 Bad Gateway"));
    assert!(serde_json::from_str::<Value>(&replies[1].body).is_err());
}

#[test]
fn missing_scope_is_403_on_writes() {
    let sim = CrmSim::start(seeded(1));
    let client = Client::authed(&sim);
    sim.set_faults(Faults {
        missing_scope: Some("crm.objects.contacts.write".into()),
        ..Faults::default()
    });
    assert_eq!(client.get(CONTACTS).status, 200, "reads are unaffected");
    let reply = client.post(
        &format!("{CONTACTS}/batch/create"),
        &json!({ "inputs": [{ "properties": { "email": "a@example.com" } }] }),
    );
    assert_eq!(reply.status, 403);
    let body = reply.json();
    assert_eq!(body["category"], "MISSING_SCOPES");
    assert_eq!(
        body["errors"][0]["context"]["requiredGranularScopes"],
        json!(["crm.objects.contacts.write"])
    );
    assert_eq!(sim.contacts().len(), 1);

    // A token whose grant lacks the read scope.
    let read_less = CrmSim::start(SimConfig {
        granted_scopes: vec!["crm.objects.contacts.write".into()],
        ..SimConfig::default()
    });
    let reply = Client::authed(&read_less).get(CONTACTS);
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.json()["errors"][0]["context"]["requiredGranularScopes"],
        json!(["crm.objects.contacts.read"])
    );
}

#[test]
fn requests_are_recorded_and_large_bodies_refused() {
    let sim = CrmSim::start(SimConfig::default());
    let client = Client::authed(&sim);
    assert_eq!(
        Client::new(&sim).get(&format!("{CONTACTS}?limit=1")).status,
        401
    );
    let big = "x".repeat((1 << 20) + 1);
    let too_large = client.send("POST", &format!("{CONTACTS}/batch/create"), &[], Some(big));
    assert_eq!(too_large.status, 413);

    let log = sim.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, "/oauth/v1/token");
    assert!(log[0].body.contains("grant_type=client_credentials"));
    assert_eq!(log[0].status, 200);
    assert_eq!(log[1].path, "/crm/v3/objects/contacts?limit=1");
    assert_eq!(log[1].status, 401);
    assert_eq!(log[2].status, 413);
    assert!(
        log[2]
            .header("Authorization")
            .unwrap()
            .starts_with("Bearer sim-at-")
    );
    assert!(log[2].body.starts_with("<1048577 bytes omitted"));
    sim.clear_requests();
    assert!(sim.requests().is_empty());
}

#[test]
fn server_stops_on_drop() {
    let sim = CrmSim::start(SimConfig::default());
    let addr = sim.base_url().trim_start_matches("http://").to_owned();
    // A keep-alive connection stays open in the agent's pool.
    let client = Client::authed(&sim);
    assert!(TcpStream::connect(&addr).is_ok());
    drop(sim);
    assert!(
        TcpStream::connect(&addr).is_err(),
        "port {addr} still accepts"
    );
    drop(client);
}
