package floc

// The two orders an entry sits in.
const (
	byUse  = 0 // Table.used
	bySeen = 1 // Table.seen
)

type links struct{ prev, next *entry }

// list is an intrusive doubly linked list through entry.links[k].
type list struct {
	k           int
	front, back *entry
	n           int
}

func (l *list) pushFront(e *entry) {
	lk := &e.links[l.k]
	lk.prev, lk.next = nil, l.front
	if l.front != nil {
		l.front.links[l.k].prev = e
	} else {
		l.back = e
	}
	l.front = e
	l.n++
}

func (l *list) remove(e *entry) {
	lk := &e.links[l.k]
	if lk.prev != nil {
		lk.prev.links[l.k].next = lk.next
	} else {
		l.front = lk.next
	}
	if lk.next != nil {
		lk.next.links[l.k].prev = lk.prev
	} else {
		l.back = lk.prev
	}
	lk.prev, lk.next = nil, nil
	l.n--
}

func (l *list) moveToFront(e *entry) {
	if l.front == e {
		return
	}
	l.remove(e)
	l.pushFront(e)
}
