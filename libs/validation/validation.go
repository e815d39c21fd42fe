package validation

import "strings"

// FieldError names one invalid field and why it is invalid.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error lists every invalid field of an input. Its zero value lists none
// and is ready to use.
type Error struct {
	Fields []FieldError
}

// Field returns an *Error listing one invalid field.
func Field(field, message string) *Error {
	return &Error{Fields: []FieldError{{Field: field, Message: message}}}
}

// Error reports every field on one line: "invalid input: field: why; ...".
func (e *Error) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add appends one invalid field.
func (e *Error) Add(field, message string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Message: message})
}

// Err returns e when it lists a field and nil otherwise.
func (e *Error) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}
