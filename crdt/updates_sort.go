package crdt

// jsSort sorts a in place exactly as V8's Array.prototype.sort does (a TimSort, V8's
// third_party/v8/builtins/array-sort.tq), comparisons and moves included. mergeUpdates needs
// this because Yjs's comparator is inconsistent for a GC and an Item at the same position
// (it answers −1 both ways), so the order it yields is whatever V8's algorithm makes of it,
// and that order decides which input's struct is written (SPEC §3.7.2). For a consistent
// comparator the result is simply the stable sorted order.
func jsSort[T any](a []T, compare func(x, y T) int) {
	n := len(a)
	if n < 2 {
		return
	}
	s := &jsSortState[T]{a: a, cmp: compare, minGallop: jsMinGallop}
	low, remaining := 0, n
	minRun := jsMinRunLength(n)
	for remaining != 0 {
		run := s.countAndMakeRun(low, low+remaining)
		if run < minRun {
			forced := min(minRun, remaining)
			s.binaryInsertionSort(low, low+run, low+forced)
			run = forced
		}
		s.runs = append(s.runs, jsRun{base: low, length: run})
		s.mergeCollapse()
		low += run
		remaining -= run
	}
	s.mergeForceCollapse()
}

// jsMinGallop is V8's kMinGallopWins, the initial galloping threshold.
const jsMinGallop = 7

type jsRun struct{ base, length int }

type jsSortState[T any] struct {
	a         []T
	cmp       func(x, y T) int
	minGallop int
	runs      []jsRun
	tmp       []T
}

func jsMinRunLength(n int) int {
	r := 0
	for n >= 64 {
		r |= n & 1
		n >>= 1
	}
	return n + r
}

// countAndMakeRun returns the length of the run starting at low, reversing it in place if
// it is strictly descending.
func (s *jsSortState[T]) countAndMakeRun(lowArg, high int) int {
	low := lowArg + 1
	if low == high {
		return 1
	}
	run := 2
	prev := s.a[low]
	descending := s.cmp(prev, s.a[low-1]) < 0
	for i := low + 1; i < high; i++ {
		cur := s.a[i]
		order := s.cmp(cur, prev)
		if descending {
			if order >= 0 {
				break
			}
		} else if order < 0 {
			break
		}
		prev = cur
		run++
	}
	if descending {
		for i, j := lowArg, lowArg+run-1; i < j; i, j = i+1, j-1 {
			s.a[i], s.a[j] = s.a[j], s.a[i]
		}
	}
	return run
}

// binaryInsertionSort inserts a[start:high] into the sorted a[low:start].
func (s *jsSortState[T]) binaryInsertionSort(low, startArg, high int) {
	start := startArg
	if low == startArg {
		start++
	}
	for ; start < high; start++ {
		left, right := low, start
		pivot := s.a[start]
		for left < right {
			mid := left + (right-left)>>1
			if s.cmp(pivot, s.a[mid]) < 0 {
				right = mid
			} else {
				left = mid + 1
			}
		}
		copy(s.a[left+1:start+1], s.a[left:start])
		s.a[left] = pivot
	}
}

func (s *jsSortState[T]) runInvariantEstablished(n int) bool {
	if n < 2 {
		return true
	}
	return s.runs[n-2].length > s.runs[n-1].length+s.runs[n].length
}

func (s *jsSortState[T]) mergeCollapse() {
	for len(s.runs) > 1 {
		n := len(s.runs) - 2
		if !s.runInvariantEstablished(n+1) || !s.runInvariantEstablished(n) {
			if s.runs[n-1].length < s.runs[n+1].length {
				n--
			}
			s.mergeAt(n)
		} else if s.runs[n].length <= s.runs[n+1].length {
			s.mergeAt(n)
		} else {
			break
		}
	}
}

func (s *jsSortState[T]) mergeForceCollapse() {
	for len(s.runs) > 1 {
		n := len(s.runs) - 2
		if n > 0 && s.runs[n-1].length < s.runs[n+1].length {
			n--
		}
		s.mergeAt(n)
	}
}

// mergeAt merges runs i and i+1.
func (s *jsSortState[T]) mergeAt(i int) {
	baseA, lengthA := s.runs[i].base, s.runs[i].length
	baseB, lengthB := s.runs[i+1].base, s.runs[i+1].length
	s.runs[i].length = lengthA + lengthB
	s.runs = append(s.runs[:i+1], s.runs[i+2:]...)

	k := s.gallopRight(s.a, s.a[baseB], baseA, lengthA, 0)
	baseA += k
	lengthA -= k
	if lengthA == 0 {
		return
	}
	lengthB = s.gallopLeft(s.a, s.a[baseA+lengthA-1], baseB, lengthB, lengthB-1)
	if lengthB == 0 {
		return
	}
	if lengthA <= lengthB {
		s.mergeLow(baseA, lengthA, baseB, lengthB)
	} else {
		s.mergeHigh(baseA, lengthA, baseB, lengthB)
	}
}

// gallopLeft returns the leftmost position in arr[base:base+length] where key belongs.
func (s *jsSortState[T]) gallopLeft(arr []T, key T, base, length, hint int) int {
	lastOfs, offset := 0, 1
	if s.cmp(arr[base+hint], key) < 0 {
		maxOfs := length - hint
		for offset < maxOfs {
			if s.cmp(arr[base+hint+offset], key) >= 0 {
				break
			}
			lastOfs = offset
			offset = offset<<1 + 1
		}
		offset = min(offset, maxOfs)
		lastOfs += hint
		offset += hint
	} else {
		maxOfs := hint + 1
		for offset < maxOfs {
			if s.cmp(arr[base+hint-offset], key) < 0 {
				break
			}
			lastOfs = offset
			offset = offset<<1 + 1
		}
		offset = min(offset, maxOfs)
		lastOfs, offset = hint-offset, hint-lastOfs
	}
	lastOfs++
	for lastOfs < offset {
		m := lastOfs + (offset-lastOfs)>>1
		if s.cmp(arr[base+m], key) < 0 {
			lastOfs = m + 1
		} else {
			offset = m
		}
	}
	return offset
}

// gallopRight returns the rightmost position in arr[base:base+length] where key belongs.
func (s *jsSortState[T]) gallopRight(arr []T, key T, base, length, hint int) int {
	lastOfs, offset := 0, 1
	if s.cmp(key, arr[base+hint]) < 0 {
		maxOfs := hint + 1
		for offset < maxOfs {
			if s.cmp(key, arr[base+hint-offset]) >= 0 {
				break
			}
			lastOfs = offset
			offset = offset<<1 + 1
		}
		offset = min(offset, maxOfs)
		lastOfs, offset = hint-offset, hint-lastOfs
	} else {
		maxOfs := length - hint
		for offset < maxOfs {
			if s.cmp(key, arr[base+hint+offset]) < 0 {
				break
			}
			lastOfs = offset
			offset = offset<<1 + 1
		}
		offset = min(offset, maxOfs)
		lastOfs += hint
		offset += hint
	}
	lastOfs++
	for lastOfs < offset {
		m := lastOfs + (offset-lastOfs)>>1
		if s.cmp(key, arr[base+m]) < 0 {
			offset = m
		} else {
			lastOfs = m + 1
		}
	}
	return offset
}

// mergeLow merges the runs a[baseA:+lengthA] and a[baseB:+lengthB] (lengthA ≤ lengthB)
// from the left, with run A in a temporary copy.
func (s *jsSortState[T]) mergeLow(baseA, lengthA, baseB, lengthB int) {
	a := s.a
	s.tmp = append(s.tmp[:0], a[baseA:baseA+lengthA]...)
	tmp := s.tmp
	dest, cursorTemp, cursorB := baseA, 0, baseB
	a[dest] = a[cursorB]
	dest++
	cursorB++

	lengthB--
	if lengthB == 0 {
		goto succeed
	}
	if lengthA == 1 {
		goto copyB
	}
	for {
		winsA, winsB := 0, 0
		minGallop := s.minGallop
		for {
			if s.cmp(a[cursorB], tmp[cursorTemp]) < 0 {
				a[dest] = a[cursorB]
				dest++
				cursorB++
				winsB++
				lengthB--
				winsA = 0
				if lengthB == 0 {
					goto succeed
				}
				if winsB >= minGallop {
					break
				}
			} else {
				a[dest] = tmp[cursorTemp]
				dest++
				cursorTemp++
				winsA++
				lengthA--
				winsB = 0
				if lengthA == 1 {
					goto copyB
				}
				if winsA >= minGallop {
					break
				}
			}
		}
		minGallop++
		first := true
		for winsA >= jsMinGallop || winsB >= jsMinGallop || first {
			first = false
			minGallop = max(1, minGallop-1)
			s.minGallop = minGallop

			winsA = s.gallopRight(tmp, a[cursorB], cursorTemp, lengthA, 0)
			if winsA > 0 {
				copy(a[dest:dest+winsA], tmp[cursorTemp:cursorTemp+winsA])
				dest += winsA
				cursorTemp += winsA
				lengthA -= winsA
				if lengthA == 1 {
					goto copyB
				}
				if lengthA == 0 {
					goto succeed
				}
			}
			a[dest] = a[cursorB]
			dest++
			cursorB++
			lengthB--
			if lengthB == 0 {
				goto succeed
			}

			winsB = s.gallopLeft(a, tmp[cursorTemp], cursorB, lengthB, 0)
			if winsB > 0 {
				copy(a[dest:dest+winsB], a[cursorB:cursorB+winsB])
				dest += winsB
				cursorB += winsB
				lengthB -= winsB
				if lengthB == 0 {
					goto succeed
				}
			}
			a[dest] = tmp[cursorTemp]
			dest++
			cursorTemp++
			lengthA--
			if lengthA == 1 {
				goto copyB
			}
		}
		minGallop++
		s.minGallop = minGallop
	}
succeed:
	if lengthA > 0 {
		copy(a[dest:dest+lengthA], tmp[cursorTemp:cursorTemp+lengthA])
	}
	return
copyB:
	// The last element of run A belongs at the end of the merge.
	copy(a[dest:dest+lengthB], a[cursorB:cursorB+lengthB])
	a[dest+lengthB] = tmp[cursorTemp]
}

// mergeHigh merges the runs a[baseA:+lengthA] and a[baseB:+lengthB] (lengthA > lengthB)
// from the right, with run B in a temporary copy.
func (s *jsSortState[T]) mergeHigh(baseA, lengthA, baseB, lengthB int) {
	a := s.a
	s.tmp = append(s.tmp[:0], a[baseB:baseB+lengthB]...)
	tmp := s.tmp
	dest, cursorTemp, cursorA := baseB+lengthB-1, lengthB-1, baseA+lengthA-1
	a[dest] = a[cursorA]
	dest--
	cursorA--

	lengthA--
	if lengthA == 0 {
		goto succeed
	}
	if lengthB == 1 {
		goto copyA
	}
	for {
		winsA, winsB := 0, 0
		minGallop := s.minGallop
		for {
			if s.cmp(tmp[cursorTemp], a[cursorA]) < 0 {
				a[dest] = a[cursorA]
				dest--
				cursorA--
				winsA++
				lengthA--
				winsB = 0
				if lengthA == 0 {
					goto succeed
				}
				if winsA >= minGallop {
					break
				}
			} else {
				a[dest] = tmp[cursorTemp]
				dest--
				cursorTemp--
				winsB++
				lengthB--
				winsA = 0
				if lengthB == 1 {
					goto copyA
				}
				if winsB >= minGallop {
					break
				}
			}
		}
		minGallop++
		first := true
		for winsA >= jsMinGallop || winsB >= jsMinGallop || first {
			first = false
			minGallop = max(1, minGallop-1)
			s.minGallop = minGallop

			k := s.gallopRight(a, tmp[cursorTemp], baseA, lengthA, lengthA-1)
			winsA = lengthA - k
			if winsA > 0 {
				dest -= winsA
				cursorA -= winsA
				copy(a[dest+1:dest+1+winsA], a[cursorA+1:cursorA+1+winsA])
				lengthA -= winsA
				if lengthA == 0 {
					goto succeed
				}
			}
			a[dest] = tmp[cursorTemp]
			dest--
			cursorTemp--
			lengthB--
			if lengthB == 1 {
				goto copyA
			}

			k = s.gallopLeft(tmp, a[cursorA], 0, lengthB, lengthB-1)
			winsB = lengthB - k
			if winsB > 0 {
				dest -= winsB
				cursorTemp -= winsB
				copy(a[dest+1:dest+1+winsB], tmp[cursorTemp+1:cursorTemp+1+winsB])
				lengthB -= winsB
				if lengthB == 1 {
					goto copyA
				}
				if lengthB == 0 {
					goto succeed
				}
			}
			a[dest] = a[cursorA]
			dest--
			cursorA--
			lengthA--
			if lengthA == 0 {
				goto succeed
			}
		}
		minGallop++
		s.minGallop = minGallop
	}
succeed:
	if lengthB > 0 {
		copy(a[dest-(lengthB-1):dest+1], tmp[:lengthB])
	}
	return
copyA:
	// The first element of run B belongs at the front of the merge.
	dest -= lengthA
	cursorA -= lengthA
	copy(a[dest+1:dest+1+lengthA], a[cursorA+1:cursorA+1+lengthA])
	a[dest] = tmp[cursorTemp]
}
