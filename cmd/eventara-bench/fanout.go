package main

import "errors"

func runFanout(args []string) error {
	return errors.New("fanout: not built yet")
}
