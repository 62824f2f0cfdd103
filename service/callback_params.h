// What a status callback looks like on the wire (docs/callbacks.md): Twilio's parameter names and
// values for a state::Callback, the form encoding, and the X-Twilio-Signature that Twilio's helper
// libraries validate. Rendered at delivery, from the records the callback carries.
#ifndef ROLLCALL_SERVICE_CALLBACK_PARAMS_H_
#define ROLLCALL_SERVICE_CALLBACK_PARAMS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "state/callbacks.h"

namespace rollcall::service {

using FormParams = std::vector<std::pair<std::string, std::string>>;

// The parameters of `callback`, sorted by name (the order Twilio signs them in).
FormParams CallbackParams(const state::Callback& callback);

// application/x-www-form-urlencoded: name=value pairs joined by '&', each percent-encoded with
// '+' for a space.
std::string FormEncode(const FormParams& params);

// Twilio's request signature: base64 of the HMAC-SHA1, keyed by the account's auth token, of the
// URL followed by each parameter's name and value in name order (POST); a GET signs its full URL
// with the query and no parameters.
std::string TwilioSignature(absl::string_view auth_token, absl::string_view url,
                            const FormParams& sorted_params);

}  // namespace rollcall::service

#endif  // ROLLCALL_SERVICE_CALLBACK_PARAMS_H_
