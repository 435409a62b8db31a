package idpemu

import (
	"crypto/rand"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/msidm/msidm/sandbox/token"
)

// Device authorization grant (RFC 8628 as the identity platform implements it,
// v2-oauth2-device-code.md): POST /{tenant}/oauth2/v2.0/devicecode, then the client polls the
// token endpoint with grant_type=urn:ietf:params:oauth:grant-type:device_code until the user
// approves or declines. The sandbox's "user" is ApproveDeviceCode / DenyDeviceCode, or
// Options.AutoApproveDeviceCodes.

const (
	// deviceCodeLifetime: "From the moment the request is sent, the user has 15 minutes to sign
	// in. This is the default value for expires_in." (v2-oauth2-device-code.md)
	deviceCodeLifetime = 15 * time.Minute
	// devicePollInterval is the interval the service reports (seconds). The sandbox does not
	// answer slow_down: the documented errors of the flow do not include it.
	devicePollInterval = 5
	// verificationURI is the service's; the sandbox has no sign-in page of its own.
	verificationURI = "https://microsoft.com/devicelogin"
)

// Errors of ApproveDeviceCode and DenyDeviceCode.
var (
	ErrUnknownUserCode = errors.New("idpemu: unknown user code")
	ErrUserCodeExpired = errors.New("idpemu: user code has expired")
	ErrUserCodeDecided = errors.New("idpemu: user code was already approved or declined")
	ErrNoSignInUser    = errors.New("idpemu: no signed-in user to approve as (Options.SignInUser)")
)

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDeclined
	deviceRedeemed
)

// deviceAuth is one device authorization request.
type deviceAuth struct {
	clientID string
	tenant   string // path tenant of /devicecode; polling must use the same
	scope    string
	userCode string
	expires  time.Time
	state    deviceState
	user     User // who approved
}

// deviceCodeResponse is the device authorization response (v2-oauth2-device-code.md).
type deviceCodeResponse struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`

	clientID string
}

// deviceAuthorization serves POST /{tenant}/oauth2/v2.0/devicecode (client_id, scope).
func (s *Server) deviceAuthorization(r *http.Request, tenant string) (*deviceCodeResponse, *oauthError) {
	if r.Method != http.MethodPost {
		return nil, errMethod("POST, OPTIONS", r.Method)
	}
	if _, oerr := s.checkTenant(tenant); oerr != nil {
		return nil, oerr
	}
	if oerr := s.injectedFault("devicecode"); oerr != nil {
		return nil, oerr
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		return nil, errMissingParam("client_id")
	}
	clientID := r.PostForm.Get("client_id")
	if clientID == "" {
		return nil, errMissingParam("client_id")
	}
	a, ok := s.apps[strings.ToLower(clientID)]
	if !ok {
		return nil, errUnknownClient(clientID, s.tenantID)
	}
	scope := r.PostForm.Get("scope")
	if strings.TrimSpace(scope) == "" {
		return nil, errMissingParam("scope")
	}
	if _, oerr := s.parseScope(scope); oerr != nil {
		return nil, oerr
	}
	d := &deviceAuth{clientID: a.ClientID, tenant: tenant, scope: scope, userCode: newUserCode()}
	deviceCode := "DAQABAAEAAA" + token.RandomID(96)
	s.storeDevice(deviceCode, d)
	return &deviceCodeResponse{
		DeviceCode:      deviceCode,
		UserCode:        d.userCode,
		VerificationURI: verificationURI,
		ExpiresIn:       int(deviceCodeLifetime / time.Second),
		Interval:        devicePollInterval,
		Message: "To sign in, use a web browser to open the page " + verificationURI + " and enter the code " +
			d.userCode + " to authenticate.",
		clientID: a.ClientID,
	}, nil
}

// storeDevice registers d (approving it at once with AutoApproveDeviceCodes and a signed-in
// user) and drops requests that expired more than an hour ago.
func (s *Server) storeDevice(deviceCode string, d *deviceAuth) {
	now := s.now()
	d.expires = now.Add(deviceCodeLifetime)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.devices {
		if now.After(old.expires.Add(time.Hour)) {
			delete(s.devices, k)
			delete(s.userCodes, old.userCode)
		}
	}
	if s.autoApprove && s.signIn != (User{}) {
		d.state, d.user = deviceApproved, s.signIn
	}
	s.devices[deviceCode] = d
	s.userCodes[d.userCode] = d
}

// ApproveDeviceCode approves the device authorization with this user code as the signed-in
// user, as if they had signed in at verification_uri. Case, spaces and hyphens in userCode
// are ignored.
func (s *Server) ApproveDeviceCode(userCode string) error { return s.decideDevice(userCode, true) }

// DenyDeviceCode declines the device authorization with this user code; polling then fails
// with authorization_declined.
func (s *Server) DenyDeviceCode(userCode string) error { return s.decideDevice(userCode, false) }

func (s *Server) decideDevice(userCode string, approve bool) error {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.userCodes[normaliseUserCode(userCode)]
	switch {
	case !ok:
		return ErrUnknownUserCode
	case now.After(d.expires):
		return ErrUserCodeExpired
	case d.state != devicePending:
		return ErrUserCodeDecided
	case !approve:
		d.state = deviceDeclined
		return nil
	case s.signIn == (User{}):
		return ErrNoSignInUser
	}
	d.state, d.user = deviceApproved, s.signIn
	return nil
}

// deviceCode redeems a device code (grant_type=urn:ietf:params:oauth:grant-type:device_code).
func (s *Server) deviceCode(req *tokenRequest) (*tokenResponse, *oauthError) {
	a, oerr := s.client(req, false)
	if oerr != nil {
		return nil, oerr
	}
	dc := req.get("device_code")
	if dc == "" {
		return nil, errMissingParam("device_code")
	}
	d, oerr := s.takeDevice(dc, a.ClientID, req.tenant)
	if oerr != nil {
		return nil, oerr
	}
	sr, oerr := s.parseScope(d.scope)
	if oerr != nil {
		return nil, oerr
	}
	return s.userTokens(a, d.user, sr, wantsOfflineAccess(d.scope)), nil
}

// takeDevice reports the state of a device authorization and, once approved, marks it
// redeemed in the same critical section so it yields tokens once.
func (s *Server) takeDevice(deviceCode, clientID, tenant string) (deviceAuth, *oauthError) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.devices[deviceCode]
	switch {
	case !ok || !strings.EqualFold(d.clientID, clientID) || d.tenant != tenant:
		return deviceAuth{}, errBadVerificationCode()
	case d.state == deviceRedeemed:
		return deviceAuth{}, errDeviceCodeRedeemed()
	case now.After(d.expires):
		return deviceAuth{}, errDeviceCodeExpired()
	case d.state == devicePending:
		return deviceAuth{}, errAuthorizationPending()
	case d.state == deviceDeclined:
		return deviceAuth{}, errAuthorizationDeclined()
	}
	d.state = deviceRedeemed
	return *d, nil
}

// userCodeAlphabet leaves out letters and digits that read alike (0/O, 1/I).
const userCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// newUserCode returns a nine-character code like the service's (for example "DPRV7XS52").
func newUserCode() string {
	b := make([]byte, 9)
	if _, err := rand.Read(b); err != nil {
		panic("idpemu: no randomness: " + err.Error())
	}
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)] // 256 is a multiple of 32: uniform
	}
	return string(b)
}

func normaliseUserCode(c string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(c))
}
