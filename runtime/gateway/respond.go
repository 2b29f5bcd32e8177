package gateway

import (
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/gwcdev/gwc/runtime/mock"
	"github.com/gwcdev/gwc/runtime/problem"
	"github.com/gwcdev/gwc/runtime/validate"
)

// writeProblem makes p the response (problem.Problem.Write).
func writeProblem(ctx *fasthttp.RequestCtx, p *problem.Problem) { p.Write(&ctx.Response) }

// validationProblem turns a validator's error into the problem to answer.
func (r *request) failValidation(e *validate.Error) {
	reason := problem.Validation
	switch e.Status {
	case http.StatusRequestEntityTooLarge:
		reason = problem.BodyTooLarge
		// The rest of the body is not read: close rather than drain it.
		defer r.ctx.SetConnectionClose()
	case http.StatusUnsupportedMediaType:
		reason = problem.UnsupportedMedia
	case http.StatusInternalServerError:
		reason = problem.InternalError
	}
	var errs []problem.FieldError
	if len(e.Errors) > 0 {
		errs = make([]problem.FieldError, len(e.Errors))
		for i, f := range e.Errors {
			errs[i] = problem.FieldError{Pointer: f.Pointer, Detail: f.Detail}
		}
	}
	r.fail(reason, e.Detail, errs)
}

// serveMock answers from the operation's examples.
func (o *operation) serveMock(r *request) {
	h := &r.ctx.Request.Header
	a, p := mock.Respond(o.op, b2s(h.Peek("Accept")), b2s(h.Peek("Prefer")))
	if p != nil {
		r.fail(p.Reason, p.Detail, nil)
		return
	}
	resp := &r.ctx.Response
	resp.SetStatusCode(a.Status)
	for _, kv := range a.Headers {
		resp.Header.Set(kv[0], kv[1])
	}
	resp.Header.Set("X-Gwc-Mock", "true")
	if o.unchecked {
		resp.Header.Set("X-Gwc-Auth", "not-checked")
	}
	if a.ContentType != "" {
		resp.Header.SetContentType(a.ContentType)
	}
	resp.SetBody(a.Body)
	if len(a.Body) == 0 && a.ContentType == "" {
		resp.Header.SetContentLength(0)
	}
	r.reason = "mock"
}
