// Swagger UI over the hub's own document. A file of its own, not an inline script, so the page's
// Content-Security-Policy can allow scripts from this origin only.
window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/api/v1/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    // Its default sends the document to validator.swagger.io for a badge: nothing leaves the hub.
    validatorUrl: null,
  });
});
