module github.com/mqwire/mqwire

go 1.26
