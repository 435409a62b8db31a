package confirm

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/msidm/msidm/policy"
)

// Confirmation codes (opt-in, for a developer scripting at the MCP Inspector): the first call
// returns a code, the repeated call carries it in confirmation_code. A code is
//
//	<expiry, base 36 Unix seconds>-<8 hex of SHA-256 of the target fingerprint>-<HMAC>
//
// where the HMAC (80 bits, base32) covers the binding digest, the expiry and the
// fingerprint prefix, so it is valid only for these arguments, this plan, this caller and
// this state of the target, until it expires, once. Nothing is stored until it is used.
//
// Unlike elicitation and the approval page, the code passes through the agent: it proves
// that the same caller asked twice for the same plan, not that a human looked. That is why
// it is off unless the policy enables it.

var codeEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func (c *Confirmer) code(digest, fpTag string, expires int64) string {
	exp := strconv.FormatInt(expires, 36)
	sum := mac(c.keys.code, "code", digest, exp, fpTag)
	return exp + "-" + fpTag + "-" + strings.ToLower(codeEncoding.EncodeToString(sum[:10]))
}

func fingerprintTag(fp string) string {
	sum := sha256.Sum256([]byte(fp))
	return hex.EncodeToString(sum[:4])
}

func (c *Confirmer) askCode(ctx context.Context, plan policy.Plan, caller, digest string) policy.Confirmation {
	fp, err := c.fingerprint(ctx, plan)
	if err != nil {
		return refuse(plan, err.Error(), "Try again.")
	}
	expires := c.now().Add(c.ttl).Truncate(time.Second)
	code := c.code(digest, fingerprintTag(fp), expires.Unix())
	text := fmt.Sprintf("CONFIRMATION CODE REQUIRED: %s has not been run and nothing was changed.\n\n%s\n"+
		"If you intend exactly this plan, call %s again with the same arguments plus %s=%q before %s. "+
		"The code is single use and is void if any argument changes.",
		plan.Tool, planText(plan, caller), plan.Tool, ArgConfirmationCode, code, formatTime(expires))
	return policy.Confirmation{Result: withMeta(mcp.NewToolResultError(text), map[string]any{
		"status": StatusCodeRequired, "code": code, "expires_at": formatTime(expires),
	})}
}

func (c *Confirmer) finishCode(ctx context.Context, code string, plan policy.Plan, digest string) policy.Confirmation {
	const again = "Call the tool again without " + ArgConfirmationCode + " to get a new code."
	if !slices.Contains(c.allowedModes(), ModeCode) {
		return refuse(plan, "confirmation codes are not enabled by the policy", "Remove "+ArgConfirmationCode+" and call again.")
	}
	parts := strings.Split(code, "-")
	if len(parts) != 3 {
		return refuse(plan, "the confirmation code is malformed", again)
	}
	exp, err := strconv.ParseInt(parts[0], 36, 64)
	if err != nil {
		return refuse(plan, "the confirmation code is malformed", again)
	}
	if !hmac.Equal([]byte(c.code(digest, parts[1], exp)), []byte(strings.ToLower(code))) {
		return refuse(plan, "the confirmation code is not valid for these arguments, this plan and this caller", again)
	}
	now := c.now()
	expires := time.Unix(exp, 0)
	if now.After(expires) {
		return refuse(plan, "the confirmation code expired at "+formatTime(expires), again)
	}
	fp, err := c.fingerprint(ctx, plan)
	if err != nil {
		return refuse(plan, err.Error(), "Try again.")
	}
	if fingerprintTag(fp) != parts[1] {
		return refuse(plan, errTargetChanged.Error(), again)
	}
	if !c.spent.use("code:"+strings.ToLower(code), expires, now) {
		return refuse(plan, "the confirmation code was already used (each is single use)", again)
	}
	return policy.Confirmation{Proceed: true, Mode: ModeCode, Approver: "code"}
}
