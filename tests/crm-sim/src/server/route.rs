//! Routing: which endpoint a request asks for, the fault counter it
//! counts against and the access (scope) it needs.

use axum::http::Method;

use super::CONTACTS;

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Route {
    Token,
    List,
    Get(String),
    Search,
    Batch(BatchKind),
    Archive(String),
    WrongMethod,
    NotFound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BatchKind {
    Create,
    Update,
    Upsert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

impl Route {
    pub(super) fn parse(method: &Method, path: &str) -> Route {
        let path = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        let only = |m: Method, route: Route| {
            if *method == m {
                route
            } else {
                Route::WrongMethod
            }
        };
        match path {
            "/oauth/v1/token" => only(Method::POST, Route::Token),
            CONTACTS => only(Method::GET, Route::List),
            "/crm/v3/objects/contacts/search" => only(Method::POST, Route::Search),
            "/crm/v3/objects/contacts/batch/create" => {
                only(Method::POST, Route::Batch(BatchKind::Create))
            }
            "/crm/v3/objects/contacts/batch/update" => {
                only(Method::POST, Route::Batch(BatchKind::Update))
            }
            "/crm/v3/objects/contacts/batch/upsert" => {
                only(Method::POST, Route::Batch(BatchKind::Upsert))
            }
            _ => match path.strip_prefix("/crm/v3/objects/contacts/") {
                Some(id) if !id.is_empty() && !id.contains('/') && id != "batch" => match *method {
                    Method::GET => Route::Get(id.to_owned()),
                    Method::DELETE => Route::Archive(id.to_owned()),
                    _ => Route::WrongMethod,
                },
                _ => Route::NotFound,
            },
        }
    }

    /// The counter the every-Nth faults use.
    pub(super) fn family(&self) -> &'static str {
        match self {
            Route::Token => "oauth.token",
            Route::List => "contacts.list",
            Route::Get(_) => "contacts.get",
            Route::Search => "contacts.search",
            Route::Batch(BatchKind::Create) => "contacts.batch.create",
            Route::Batch(BatchKind::Update) => "contacts.batch.update",
            Route::Batch(BatchKind::Upsert) => "contacts.batch.upsert",
            Route::Archive(_) => "contacts.archive",
            Route::WrongMethod | Route::NotFound => "other",
        }
    }

    pub(super) fn access(&self) -> Option<Access> {
        match self {
            Route::List | Route::Get(_) | Route::Search => Some(Access::Read),
            Route::Batch(_) | Route::Archive(_) => Some(Access::Write),
            Route::Token | Route::WrongMethod | Route::NotFound => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = |m: Method, p: &str| Route::parse(&m, p);
        assert_eq!(r(Method::POST, "/oauth/v1/token"), Route::Token);
        assert_eq!(r(Method::GET, "/oauth/v1/token"), Route::WrongMethod);
        assert_eq!(r(Method::GET, "/crm/v3/objects/contacts/"), Route::List);
        assert_eq!(
            r(Method::GET, "/crm/v3/objects/contacts/12"),
            Route::Get("12".into())
        );
        assert_eq!(
            r(Method::DELETE, "/crm/v3/objects/contacts/12"),
            Route::Archive("12".into())
        );
        assert_eq!(
            r(Method::GET, "/crm/v3/objects/contacts/search"),
            Route::WrongMethod
        );
        assert_eq!(
            r(Method::POST, "/crm/v3/objects/contacts/batch/upsert"),
            Route::Batch(BatchKind::Upsert)
        );
        assert_eq!(
            r(Method::POST, "/crm/v3/objects/contacts/batch/archive"),
            Route::NotFound
        );
        assert_eq!(r(Method::GET, "/"), Route::NotFound);
    }
}
