//! [`Routes`]: the router builder that remembers what it registered.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::MethodRouter;

use crate::AppState;

/// A JSON shape in requests and replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// A component by name (`Node`, `Port`, ...).
    Ref(&'static str),
    /// `{"<key>": [<component>...], "next": "..."}`: a collection page.
    List(&'static str, &'static str),
    /// `{"<key>": ["...", ...]}`: a list of strings under one key.
    Strings(&'static str),
    /// Any JSON object.
    Object,
    /// An RFC 6902 JSON Patch document.
    Patch,
}

/// What a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Nothing.
    None,
    /// A JSON document of this shape.
    Json(Schema),
    /// A JSON document of this shape, or nothing.
    OptionalJson(Schema),
}

/// What a successful request answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// This status with a JSON document of this shape.
    Json(u16, Schema),
    /// This status and no body.
    Empty(u16),
}

/// The description of one operation.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    /// One line for humans.
    pub summary: &'static str,
    /// The request body.
    pub body: Body,
    /// The successful reply.
    pub reply: Reply,
    /// Query arguments that page and shape a collection (`limit`, `fields`...).
    pub paged: bool,
}

impl Doc {
    /// A `GET` of one document.
    pub const fn show(summary: &'static str, schema: Schema) -> Doc {
        Doc { summary, body: Body::None, reply: Reply::Json(200, schema), paged: false }
    }

    /// A `GET` of a collection page.
    pub const fn list(summary: &'static str, key: &'static str, item: &'static str) -> Doc {
        Doc { summary, body: Body::None, reply: Reply::Json(200, Schema::List(key, item)), paged: true }
    }

    /// A `POST` creating a resource (201 with it).
    pub const fn create(summary: &'static str, body: &'static str, item: &'static str) -> Doc {
        Doc {
            summary,
            body: Body::Json(Schema::Ref(body)),
            reply: Reply::Json(201, Schema::Ref(item)),
            paged: false,
        }
    }

    /// A `PATCH` with a JSON Patch, answering the changed resource.
    pub const fn patch(summary: &'static str, item: &'static str) -> Doc {
        Doc {
            summary,
            body: Body::Json(Schema::Patch),
            reply: Reply::Json(200, Schema::Ref(item)),
            paged: false,
        }
    }

    /// The same reply with another status (for operations that only refuse).
    pub const fn status(self, status: u16) -> Doc {
        let reply = match self.reply {
            Reply::Json(_, schema) => Reply::Json(status, schema),
            Reply::Empty(_) => Reply::Empty(status),
        };
        Doc { reply, ..self }
    }

    /// An action answering with a status and no body.
    pub const fn action(summary: &'static str, body: Body, status: u16) -> Doc {
        Doc { summary, body, reply: Reply::Empty(status), paged: false }
    }
}

/// One registered operation.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The HTTP method.
    pub method: Method,
    /// The axum path, `{name}` for parameters (as OpenAPI writes them too).
    pub path: &'static str,
    /// Its description.
    pub doc: Doc,
}

/// An axum router plus the record of every operation added to it.
pub struct Routes {
    router: Router<AppState>,
    operations: Vec<Operation>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! method {
    ($name:ident, $method:ident, $routing:ident) => {
        /// Registers a handler for this method on `path`, with its description.
        pub fn $name<H, T>(self, path: &'static str, handler: H, doc: Doc) -> Self
        where
            H: Handler<T, AppState>,
            T: 'static,
        {
            self.add(Method::$method, path, axum::routing::$routing(handler), doc)
        }
    };
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Self {
        Self { router: Router::new(), operations: Vec::new() }
    }

    method!(get, GET, get);
    method!(post, POST, post);
    method!(put, PUT, put);
    method!(patch, PATCH, patch);
    method!(delete, DELETE, delete);

    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<AppState>, doc: Doc) -> Self {
        self.router = self.router.route(path, route);
        self.operations.push(Operation { method, path, doc });
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.operations.extend(other.operations);
        self
    }

    /// The router and what was registered on it.
    pub fn into_parts(self) -> (Router<AppState>, Vec<Operation>) {
        (self.router, self.operations)
    }
}
