package ads

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Config selects and configures a binding for New.
type Config struct {
	// Protocol is MSIDM_ADS_PROTOCOL: "soap" (default; Microsoft retires it on 2027-01-31)
	// or "rest".
	Protocol       string
	Root           string // service root, MSIDM_ADS_URL
	HTTPClient     *http.Client
	Tokens         oauth2.TokenSource
	DeveloperToken string
	// CustomerID and AccountID are sent as REST headers when not 0 (REST.md §2.1).
	CustomerID, AccountID int64
	Options
}

// New returns a Client over the binding cfg.Protocol names, with cfg.Options applied.
func New(cfg Config) (*Client, error) {
	var (
		binding Service
		t       *transport
	)
	switch strings.ToLower(strings.TrimSpace(cfg.Protocol)) {
	case "", ProtocolSOAP:
		c, err := NewSOAP(cfg.Root, cfg.HTTPClient, cfg.Tokens, cfg.DeveloperToken)
		if err != nil {
			return nil, err
		}
		binding, t = c, &c.transport
	case ProtocolREST:
		c, err := NewREST(cfg.Root, cfg.HTTPClient, cfg.Tokens, cfg.DeveloperToken, cfg.CustomerID, cfg.AccountID)
		if err != nil {
			return nil, err
		}
		binding, t = c, &c.transport
	default:
		return nil, fmt.Errorf("ads: protocol %q is not soap or rest (MSIDM_ADS_PROTOCOL)", cfg.Protocol)
	}
	t.setOptions(cfg.Options)
	return NewClient(binding, cfg.Logger), nil
}

// Client is the Service callers should use: it forwards every operation to a binding and
// takes care of the TimeStamp that UpdateUser and DeleteUser need (NOTES §4.6, §4.8, §12.6).
type Client struct {
	Service
	log *slog.Logger
}

// NewClient wraps a binding (or any Service). logger may be nil.
func NewClient(binding Service, logger *slog.Logger) *Client {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{Service: binding, log: logger}
}

// DeleteUser deletes a user. With timeStamp "" it reads the user first to learn it. On
// TimestampNotMatch (209) it re-reads the user and resends once only if the deletion still
// applies, that is the user is not Deleted already; otherwise the fault is returned.
func (c *Client) DeleteUser(ctx context.Context, userID int64, timeStamp string) error {
	if userID == 0 {
		return fmt.Errorf("ads: DeleteUser: the user id is required")
	}
	if timeStamp == "" {
		u, _, err := c.Service.GetUser(ctx, userID)
		if err != nil {
			return fmt.Errorf("ads: DeleteUser %d: reading its TimeStamp: %w", userID, err)
		}
		timeStamp = u.TimeStamp
	}
	err := c.Service.DeleteUser(ctx, userID, timeStamp)
	if !HasCode(err, CodeTimestampNotMatch) {
		return err
	}
	fresh, _, rerr := c.Service.GetUser(ctx, userID)
	if rerr != nil {
		return fmt.Errorf("ads: DeleteUser %d: the TimeStamp did not match and re-reading the user failed (%v): %w", userID, rerr, err)
	}
	if fresh.Status == StatusDeleted {
		return fmt.Errorf("ads: DeleteUser %d: the TimeStamp did not match and the user is already %s; not retried: %w", userID, fresh.Status, err)
	}
	c.log.DebugContext(ctx, "ads: DeleteUser TimeStamp did not match; retrying once with the current one", "user_id", userID)
	return c.Service.DeleteUser(ctx, userID, fresh.TimeStamp)
}

// UpdateUser writes a user. Customer Management replaces the whole record (NOTES §3), so
// an update that names only some fields would blank the others. Two ways to call it:
//
//   - u.TimeStamp set: u is the complete new state, typically a user from GetUser with some
//     fields changed (an empty field is cleared). On TimestampNotMatch (209) the user is
//     re-read; if it already holds u's values the call succeeds, otherwise the fault is
//     returned, because resending would overwrite whatever changed in between.
//   - u.TimeStamp "": a partial update. The client reads the user, copies onto it the fields
//     of u that are set (non-empty strings, non-nil pointers; identity and read-only fields
//     are ignored), and sends the result with the current TimeStamp. A field cannot be
//     cleared this way. On 209 it re-reads and resends once only if the change still
//     applies: the user is not Deleted, does not hold u's values already, and nobody
//     changed the fields u sets meanwhile (changes to other fields are kept).
//
// When nothing would change, nothing is sent and the current LastModifiedTime is returned.
func (c *Client) UpdateUser(ctx context.Context, u *User) (time.Time, error) {
	if u == nil || u.ID == 0 {
		return time.Time{}, fmt.Errorf("ads: UpdateUser: the user id is required")
	}
	if u.TimeStamp != "" {
		t, err := c.Service.UpdateUser(ctx, u)
		if !HasCode(err, CodeTimestampNotMatch) {
			return t, err
		}
		fresh, _, rerr := c.Service.GetUser(ctx, u.ID)
		if rerr != nil {
			return t, fmt.Errorf("ads: UpdateUser %d: the TimeStamp did not match and re-reading the user failed (%v): %w", u.ID, rerr, err)
		}
		if sameWritable(fresh, u) {
			return fresh.LastModifiedTime, nil
		}
		return t, fmt.Errorf("ads: UpdateUser %d: the user changed since its TimeStamp was read; read it again and reapply the change: %w", u.ID, err)
	}
	base, _, err := c.Service.GetUser(ctx, u.ID)
	if err != nil {
		return time.Time{}, fmt.Errorf("ads: UpdateUser %d: reading the current user: %w", u.ID, err)
	}
	want := overlay(base, u)
	if sameWritable(base, want) {
		return base.LastModifiedTime, nil
	}
	t, err := c.Service.UpdateUser(ctx, want)
	if !HasCode(err, CodeTimestampNotMatch) {
		return t, err
	}
	fresh, _, rerr := c.Service.GetUser(ctx, u.ID)
	if rerr != nil {
		return t, fmt.Errorf("ads: UpdateUser %d: the TimeStamp did not match and re-reading the user failed (%v): %w", u.ID, rerr, err)
	}
	switch {
	case fresh.Status == StatusDeleted:
		return t, fmt.Errorf("ads: UpdateUser %d: the TimeStamp did not match and the user is Deleted; not retried: %w", u.ID, err)
	case sameWritable(fresh, overlay(fresh, u)):
		return fresh.LastModifiedTime, nil
	case !sameWritable(base, fresh, u):
		// Someone else changed a field this update also sets: resending would silently
		// discard their change. Changes to other fields are kept, since fresh is the base.
		return t, fmt.Errorf("ads: UpdateUser %d: the user was changed by someone else meanwhile; not retried: %w", u.ID, err)
	}
	c.log.DebugContext(ctx, "ads: UpdateUser TimeStamp did not match; retrying once on the current user", "user_id", u.ID)
	return c.Service.UpdateUser(ctx, overlay(fresh, u))
}

// writableFields are the User fields UpdateUser writes; identity (ID, TimeStamp,
// ContactInfoID) and read-only fields are not among them.
var writableFields = []string{"FirstName", "LastName", "MiddleInitial", "JobTitle", "Email", "Phone1", "Phone2",
	"Mobile", "Fax", "HomePhone", "EmailFormat", "Lcid", "SecretQuestion", "ContactByPhone", "ContactByPostalMail", "Address"}

// overlay returns a copy of base with the writable fields that patch sets (non-zero).
func overlay(base, patch *User) *User {
	out := *base
	dst, src := reflect.ValueOf(&out).Elem(), reflect.ValueOf(patch).Elem()
	for _, name := range writableFields {
		if f := src.FieldByName(name); !f.IsZero() {
			dst.FieldByName(name).Set(f)
		}
	}
	if patch.Address != nil {
		a := *patch.Address // keep the stored address id so the address is updated, not added
		if a.ID == 0 && base.Address != nil {
			a.ID = base.Address.ID
		}
		out.Address = &a
	}
	return &out
}

// sameWritable reports whether a and b agree on every writable field, or with a non-nil
// only on those that only sets.
func sameWritable(a, b *User, only ...*User) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for _, name := range writableFields {
		if len(only) > 0 && reflect.ValueOf(only[0]).Elem().FieldByName(name).IsZero() {
			continue
		}
		if !reflect.DeepEqual(va.FieldByName(name).Interface(), vb.FieldByName(name).Interface()) {
			return false
		}
	}
	return true
}
