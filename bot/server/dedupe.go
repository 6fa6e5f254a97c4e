package server

import "container/list"

// deliveries remembers the most recently seen delivery ids, at most limit of
// them. It is not safe for concurrent use: Server.mu guards it.
type deliveries struct {
	limit int
	order *list.List // of string, most recently seen first
	index map[string]*list.Element
}

func newDeliveries(limit int) *deliveries {
	return &deliveries{limit: limit, order: list.New(), index: make(map[string]*list.Element)}
}

// contains reports whether id was seen, and if so marks it seen again.
func (d *deliveries) contains(id string) bool {
	e, ok := d.index[id]
	if ok {
		d.order.MoveToFront(e)
	}
	return ok
}

// add remembers id, forgetting the least recently seen id when full.
func (d *deliveries) add(id string) {
	if e, ok := d.index[id]; ok {
		d.order.MoveToFront(e)
		return
	}
	d.index[id] = d.order.PushFront(id)
	if d.order.Len() > d.limit {
		oldest := d.order.Back()
		d.order.Remove(oldest)
		delete(d.index, oldest.Value.(string))
	}
}
