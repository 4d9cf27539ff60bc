// Swagger UI on the service's own OpenAPI document; vendored from npm (swagger-ui-dist),
// no CDN, and no call to the online validator (validatorUrl: null): it works offline.
window.__docs = { ready: false };
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  onComplete: () => { window.__docs.ready = true; },
});
