// This file is yours: kgen wrote it once, at "kgen init", and never rewrites it.

package main

import "example.com/custom_client/kgen"

func main() {
	kgen.Main(Process)
}
