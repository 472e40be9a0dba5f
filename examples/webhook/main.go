// This file is yours: kgen wrote it once, at "kgen init", and never rewrites it.

package main

import "example.com/webhook/kgen"

func main() {
	kgen.Main(Process)
}
