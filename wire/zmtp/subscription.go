package zmtp

// First bytes of a ZMTP 3.0 subscription message.
const (
	// SubscriptionCancel opens a message that cancels a subscription.
	SubscriptionCancel byte = 0x00
	// SubscriptionSubscribe opens a message that subscribes to a topic.
	SubscriptionSubscribe byte = 0x01
)

// AppendSubscription appends the body of a ZMTP 3.0 subscription message: 1
// then topic to subscribe, 0 then topic to cancel. It travels as a
// one-frame data message (AppendFrame with no flags). libzmq's SUB sends
// this form to peers that announced ZMTP 3.0 and SUBSCRIBE / CANCEL commands
// to 3.1 peers; its PUB and XPUB accept both forms from anyone.
func AppendSubscription(b []byte, subscribe bool, topic []byte) []byte {
	first := SubscriptionCancel
	if subscribe {
		first = SubscriptionSubscribe
	}
	b = append(b, first)
	return append(b, topic...)
}

// ParseSubscription recognises the body of a one-frame data message sent by
// a subscriber: ok is false unless the body starts with 1 (subscribe) or 0
// (cancel), and topic is the rest, a view into body. A message of several
// frames is never a subscription; that is for the caller to check. What is
// not a subscription is not an error: an XPUB passes it up as is.
func ParseSubscription(body []byte) (subscribe bool, topic []byte, ok bool) {
	if len(body) == 0 || body[0] > SubscriptionSubscribe {
		return false, nil, false
	}
	return body[0] == SubscriptionSubscribe, body[1:], true
}
