package zmtp

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Property names libzmq sends and reads. libzmq compares names
// case-sensitively, so send exactly these spellings.
const (
	// PropSocketType carries the sender's socket type (TypeREQ, ...).
	PropSocketType = "Socket-Type"
	// PropIdentity carries the sender's routing id (0-255 bytes); libzmq
	// sends it from REQ, DEALER and ROUTER sockets.
	PropIdentity = "Identity"
)

// Property is one metadata property. Parsed properties' values are views
// into the command they came from.
type Property struct {
	Name  string
	Value []byte
}

// Metadata is the list of properties of a READY or INITIATE command, in the
// order they came.
type Metadata []Property

// Get returns the value of the first property called name, compared
// case-insensitively as RFC 23 says, and whether there is one.
func (m Metadata) Get(name string) (value []byte, ok bool) {
	for _, p := range m {
		if strings.EqualFold(p.Name, name) {
			return p.Value, true
		}
	}
	return nil, false
}

// CheckPropertyName reports whether name can be sent as a metadata property
// name: 1 to 255 bytes of letters, digits and "-_.+" (RFC 23).
func CheckPropertyName(name string) error {
	if len(name) == 0 || len(name) > MaxNameLen {
		return fmt.Errorf("zmtp: property name of %d bytes, want 1 to %d", len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '-' && c != '_' && c != '.' && c != '+' {
			return fmt.Errorf("zmtp: property name %q has a character RFC 23 does not allow", name)
		}
	}
	return nil
}

// PropertyLen returns the encoded size of one property.
func PropertyLen(name string, value []byte) int { return 1 + len(name) + 4 + len(value) }

// MetadataLen returns the encoded size of props.
func MetadataLen(props []Property) int {
	n := 0
	for _, p := range props {
		n += PropertyLen(p.Name, p.Value)
	}
	return n
}

// AppendProperty appends one metadata property. A name that is empty or
// longer than 255 bytes, or a value of 4 GiB or more, panics: the wire
// cannot carry it (the name's characters are the caller's business; see
// CheckPropertyName).
func AppendProperty(b []byte, name string, value []byte) []byte {
	if len(name) == 0 || len(name) > MaxNameLen {
		panic(fmt.Sprintf("zmtp: property name of %d bytes", len(name)))
	}
	if uint64(len(value)) > math.MaxUint32 {
		panic(fmt.Sprintf("zmtp: property value of %d bytes", len(value)))
	}
	b = append(b, byte(len(name)))
	b = append(b, name...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(value)))
	return append(b, value...)
}

// AppendMetadata appends props in order.
func AppendMetadata(b []byte, props ...Property) []byte {
	for _, p := range props {
		b = AppendProperty(b, p.Name, p.Value)
	}
	return b
}

// ParseMetadata walks the properties in data (the data of a READY or
// INITIATE command) and calls fn with each name and value, views into data.
// A name of length 0, or a name, value length or value that overruns data,
// is a *wire.ProtocolError; an error from fn stops the walk and is returned
// as is. Nothing is allocated.
func ParseMetadata(data []byte, fn func(name, value []byte) error) error {
	for len(data) > 0 {
		n := int(data[0])
		if n == 0 {
			return protoErr("metadata property name of length 0")
		}
		data = data[1:]
		if len(data) < n {
			return protoErr("metadata property name of %d bytes overruns the %d left", n, len(data))
		}
		name := data[:n]
		data = data[n:]
		if len(data) < 4 {
			return protoErr("metadata property %q has no value length", name)
		}
		// Compare as uint64: on 32-bit platforms a u32 does not fit an int.
		vlen := uint64(binary.BigEndian.Uint32(data))
		data = data[4:]
		if uint64(len(data)) < vlen {
			return protoErr("metadata property %q announces %d bytes, %d left", name, vlen, len(data))
		}
		value := data[:vlen]
		data = data[vlen:]
		if err := fn(name, value); err != nil {
			return err
		}
	}
	return nil
}

// ParseProperties parses metadata like ParseMetadata and returns the
// properties as a list. Values are views into data; each name is copied
// into a string.
func ParseProperties(data []byte) (Metadata, error) {
	var md Metadata
	err := ParseMetadata(data, func(name, value []byte) error {
		md = append(md, Property{Name: string(name), Value: value})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return md, nil
}
