//go:build amd64 && !purego

#include "textflag.h"

// The batch walk of walk.go, a vector of rows at a time: each step gathers
// the rows' nodes by index, finds the code each node tests, and adds the
// node's right offset where code > bin, its left increment elsewhere (1, or
// 0 on a leaf). Two independent groups of rows go side by side to keep the
// gathers busy. A pair of groups spans 2*lanes rows of 32 code bytes.

// func walk16AVX2(nodes *uint32, codes *uint8, exit *int32, pairs, depth int)
TEXT ·walk16AVX2(SB), NOSPLIT, $0-40
	MOVQ nodes+0(FP), SI
	MOVQ codes+8(FP), DI
	MOVQ exit+16(FP), DX
	MOVQ pairs+24(FP), CX
	MOVQ depth+32(FP), R8
	MOVL $1, AX
	MOVD AX, X13
	VPBROADCASTD X13, Y13         // 1
	MOVL $0xFF, AX
	MOVD AX, X12
	VPBROADCASTD X12, Y12         // 0xFF
	MOVL $0x7FFF, AX
	MOVD AX, X11
	VPBROADCASTD X11, Y11         // right offset mask
	VMOVDQU rows<>(SB), Y15       // byte offsets of group A's rows
	MOVL $256, AX
	MOVD AX, X14
	VPBROADCASTD X14, Y14
	VPADDD Y15, Y14, Y14          // and of group B's
	TESTQ CX, CX
	JEQ done16

pair16:
	VPXOR Y0, Y0, Y0              // group A's node indices
	VPXOR Y1, Y1, Y1              // group B's
	MOVQ R8, R9
	TESTQ R9, R9
	JEQ store16

step16:
	VPCMPEQD Y2, Y2, Y2
	VPCMPEQD Y7, Y7, Y7
	VPGATHERDD Y2, (SI)(Y0*4), Y3 // nodes
	VPGATHERDD Y7, (SI)(Y1*4), Y8
	VPSRLD $24, Y3, Y4            // feature
	VPSRLD $24, Y8, Y9
	VPADDD Y15, Y4, Y4            // + row offset
	VPADDD Y14, Y9, Y9
	VPCMPEQD Y2, Y2, Y2
	VPCMPEQD Y7, Y7, Y7
	VPGATHERDD Y2, (DI)(Y4*1), Y5 // codes (low byte)
	VPGATHERDD Y7, (DI)(Y9*1), Y10
	VPAND Y12, Y5, Y5
	VPAND Y12, Y10, Y10
	VPSRLD $16, Y3, Y6            // bin
	VPSRLD $16, Y8, Y7
	VPAND Y12, Y6, Y6
	VPAND Y12, Y7, Y7
	VPCMPGTD Y6, Y5, Y6           // code > bin
	VPCMPGTD Y7, Y10, Y7
	VPSRLD $15, Y3, Y4            // left increment
	VPSRLD $15, Y8, Y9
	VPAND Y13, Y4, Y4
	VPAND Y13, Y9, Y9
	VPAND Y11, Y3, Y3             // right offset
	VPAND Y11, Y8, Y8
	VPSUBD Y4, Y3, Y3
	VPSUBD Y9, Y8, Y8
	VPAND Y6, Y3, Y3
	VPAND Y7, Y8, Y8
	VPADDD Y4, Y0, Y0
	VPADDD Y9, Y1, Y1
	VPADDD Y3, Y0, Y0
	VPADDD Y8, Y1, Y1
	DECQ R9
	JNE step16

store16:
	VMOVDQU Y0, (DX)
	VMOVDQU Y1, 32(DX)
	ADDQ $64, DX
	ADDQ $512, DI
	DECQ CX
	JNE pair16

done16:
	VZEROUPPER
	RET

// func walk32AVX512(nodes *uint32, codes *uint8, exit *int32, pairs, depth int)
TEXT ·walk32AVX512(SB), NOSPLIT, $0-40
	MOVQ nodes+0(FP), SI
	MOVQ codes+8(FP), DI
	MOVQ exit+16(FP), DX
	MOVQ pairs+24(FP), CX
	MOVQ depth+32(FP), R8
	MOVL $1, AX
	VPBROADCASTD AX, Z31
	MOVL $0xFF, AX
	VPBROADCASTD AX, Z30
	MOVL $0x7FFF, AX
	VPBROADCASTD AX, Z29
	VMOVDQU32 rows<>(SB), Z28
	MOVL $512, AX
	VPBROADCASTD AX, Z27
	VPADDD Z28, Z27, Z27
	TESTQ CX, CX
	JEQ done32

pair32:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	MOVQ R8, R9
	TESTQ R9, R9
	JEQ store32

step32:
	KXNORW K1, K1, K1
	KXNORW K2, K2, K2
	VPGATHERDD (SI)(Z0*4), K1, Z4 // nodes
	VPGATHERDD (SI)(Z1*4), K2, Z5
	VPSRLD $24, Z4, Z6            // feature
	VPSRLD $24, Z5, Z7
	VPADDD Z28, Z6, Z6            // + row offset
	VPADDD Z27, Z7, Z7
	KXNORW K1, K1, K1
	KXNORW K2, K2, K2
	VPGATHERDD (DI)(Z6*1), K1, Z8 // codes (low byte)
	VPGATHERDD (DI)(Z7*1), K2, Z9
	VPANDD Z30, Z8, Z8
	VPANDD Z30, Z9, Z9
	VPSRLD $16, Z4, Z10           // bin
	VPSRLD $16, Z5, Z11
	VPANDD Z30, Z10, Z10
	VPANDD Z30, Z11, Z11
	VPCMPGTD Z10, Z8, K3          // code > bin
	VPCMPGTD Z11, Z9, K4
	VPSRLD $15, Z4, Z12           // left increment
	VPSRLD $15, Z5, Z13
	VPANDD Z31, Z12, Z12
	VPANDD Z31, Z13, Z13
	VPANDD Z29, Z4, Z4            // right offset
	VPANDD Z29, Z5, Z5
	VPSUBD Z12, Z4, Z4
	VPSUBD Z13, Z5, Z5
	VPADDD Z12, Z0, Z0
	VPADDD Z13, Z1, Z1
	VPADDD Z4, Z0, K3, Z0         // the rest of the offset where going right
	VPADDD Z5, Z1, K4, Z1
	DECQ R9
	JNE step32

store32:
	VMOVDQU32 Z0, (DX)
	VMOVDQU32 Z1, 64(DX)
	ADDQ $128, DX
	ADDQ $1024, DI
	DECQ CX
	JNE pair32

done32:
	VZEROUPPER
	RET

// func walk32AVX512Narrow(nodes *uint32, codes *uint8, exit *int32, pairs, depth int)
//
// For trees on features 0–7 only: each row's eight codes are loaded once
// per pair into two dwords, and a step picks its byte with a shift, so it
// gathers nodes only.
TEXT ·walk32AVX512Narrow(SB), NOSPLIT, $0-40
	MOVQ nodes+0(FP), SI
	MOVQ codes+8(FP), DI
	MOVQ exit+16(FP), DX
	MOVQ pairs+24(FP), CX
	MOVQ depth+32(FP), R8
	MOVL $1, AX
	VPBROADCASTD AX, Z31
	MOVL $0xFF, AX
	VPBROADCASTD AX, Z30
	MOVL $0x7FFF, AX
	VPBROADCASTD AX, Z29
	VMOVDQU32 rows<>(SB), Z28
	MOVL $512, AX
	VPBROADCASTD AX, Z27
	VPADDD Z28, Z27, Z27
	MOVL $4, AX
	VPBROADCASTD AX, Z26
	MOVL $3, AX
	VPBROADCASTD AX, Z25
	TESTQ CX, CX
	JEQ doneN

pairN:
	KXNORW K1, K1, K1
	VPGATHERDD (DI)(Z28*1), K1, Z20  // group A: codes 0–3
	KXNORW K1, K1, K1
	VPGATHERDD 4(DI)(Z28*1), K1, Z21 // codes 4–7
	KXNORW K1, K1, K1
	VPGATHERDD (DI)(Z27*1), K1, Z22  // group B
	KXNORW K1, K1, K1
	VPGATHERDD 4(DI)(Z27*1), K1, Z23
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	MOVQ R8, R9
	TESTQ R9, R9
	JEQ storeN

stepN:
	KXNORW K1, K1, K1
	KXNORW K2, K2, K2
	VPGATHERDD (SI)(Z0*4), K1, Z4 // nodes
	VPGATHERDD (SI)(Z1*4), K2, Z5
	VPSRLD $24, Z4, Z6            // feature
	VPSRLD $24, Z5, Z7
	VPANDD Z25, Z6, Z8            // its byte within a dword, in bits
	VPANDD Z25, Z7, Z9
	VPSLLD $3, Z8, Z8
	VPSLLD $3, Z9, Z9
	VPSRLVD Z8, Z20, Z10
	VPSRLVD Z9, Z22, Z11
	VPSRLVD Z8, Z21, Z12
	VPSRLVD Z9, Z23, Z13
	VPTESTMD Z26, Z6, K3          // features 4–7: the second dword
	VPTESTMD Z26, Z7, K4
	VMOVDQA32 Z12, K3, Z10
	VMOVDQA32 Z13, K4, Z11
	VPANDD Z30, Z10, Z10          // code
	VPANDD Z30, Z11, Z11
	VPSRLD $16, Z4, Z14           // bin
	VPSRLD $16, Z5, Z15
	VPANDD Z30, Z14, Z14
	VPANDD Z30, Z15, Z15
	VPCMPGTD Z14, Z10, K3         // code > bin
	VPCMPGTD Z15, Z11, K4
	VPSRLD $15, Z4, Z16           // left increment
	VPSRLD $15, Z5, Z17
	VPANDD Z31, Z16, Z16
	VPANDD Z31, Z17, Z17
	VPANDD Z29, Z4, Z4            // right offset
	VPANDD Z29, Z5, Z5
	VPSUBD Z16, Z4, Z4
	VPSUBD Z17, Z5, Z5
	VPADDD Z16, Z0, Z0
	VPADDD Z17, Z1, Z1
	VPADDD Z4, Z0, K3, Z0
	VPADDD Z5, Z1, K4, Z1
	DECQ R9
	JNE stepN

storeN:
	VMOVDQU32 Z0, (DX)
	VMOVDQU32 Z1, 64(DX)
	ADDQ $128, DX
	ADDQ $1024, DI
	DECQ CX
	JNE pairN

doneN:
	VZEROUPPER
	RET

// Byte offsets of 16 consecutive rows' codes (the first 8 serve AVX2).
DATA rows<>+0(SB)/4, $0
DATA rows<>+4(SB)/4, $32
DATA rows<>+8(SB)/4, $64
DATA rows<>+12(SB)/4, $96
DATA rows<>+16(SB)/4, $128
DATA rows<>+20(SB)/4, $160
DATA rows<>+24(SB)/4, $192
DATA rows<>+28(SB)/4, $224
DATA rows<>+32(SB)/4, $256
DATA rows<>+36(SB)/4, $288
DATA rows<>+40(SB)/4, $320
DATA rows<>+44(SB)/4, $352
DATA rows<>+48(SB)/4, $384
DATA rows<>+52(SB)/4, $416
DATA rows<>+56(SB)/4, $448
DATA rows<>+60(SB)/4, $480
GLOBL rows<>(SB), RODATA|NOPTR, $64

// func masks8AVX512(tabs *[256]uint64, feats *uint16, nfeat int, cols *uint8, stride int, value *float64, acc *float64, groups int)
//
// The leaf-mask sum of fast.go's sumMasks, eight rows at a time: for each
// of the tree's features, gather the rows' masks by code and AND them;
// the exit leaf is the lowest set bit; gather its value and add it to acc.
TEXT ·masks8AVX512(SB), NOSPLIT, $0-64
	MOVQ tabs+0(FP), SI
	MOVQ feats+8(FP), BX
	MOVQ nfeat+16(FP), R8
	MOVQ cols+24(FP), DI
	MOVQ stride+32(FP), R9
	MOVQ value+40(FP), R10
	MOVQ acc+48(FP), DX
	MOVQ groups+56(FP), CX
	MOVQ $63, AX
	VPBROADCASTQ AX, Z31          // 63
	TESTQ CX, CX
	JEQ doneM

groupM:
	VPTERNLOGQ $0xff, Z0, Z0, Z0  // m = all ones
	MOVQ SI, R11                  // this feature's table
	XORQ R12, R12                 // k

featM:
	MOVWQZX (BX)(R12*2), R13      // feature
	IMULQ R9, R13                 // its column
	VPMOVZXBD (DI)(R13*1), Y1     // eight rows' codes
	KXNORW K1, K1, K1
	VPGATHERDQ (R11)(Y1*8), K1, Z2
	VPANDQ Z2, Z0, Z0
	ADDQ $2048, R11
	INCQ R12
	CMPQ R12, R8
	JLT featM

	VPXORQ Z3, Z3, Z3
	VPSUBQ Z0, Z3, Z3             // -m
	VPANDQ Z0, Z3, Z3             // lowest set bit
	VPLZCNTQ Z3, Z3
	VPSUBQ Z3, Z31, Z3            // its index
	VPANDQ Z31, Z3, Z3
	KXNORW K1, K1, K1
	VGATHERQPD (R10)(Z3*8), K1, Z4
	VADDPD (DX), Z4, Z4
	VMOVUPD Z4, (DX)
	ADDQ $64, DX
	ADDQ $8, DI
	DECQ CX
	JNE groupM

doneM:
	VZEROUPPER
	RET

// func rowAVX512(nodes *uint32, codes *uint32, roots *int32, pairs, depth int, exit *int32)
//
// One row through many trees: lane k walks tree k from roots[k]. The row's
// codes (32 dwords) sit in two registers, and a step looks its code up by
// feature with a two-table permute instead of a gather.
TEXT ·rowAVX512(SB), NOSPLIT, $0-48
	MOVQ nodes+0(FP), SI
	MOVQ codes+8(FP), DI
	MOVQ roots+16(FP), BX
	MOVQ pairs+24(FP), CX
	MOVQ depth+32(FP), R8
	MOVQ exit+40(FP), DX
	MOVL $1, AX
	VPBROADCASTD AX, Z31
	MOVL $0xFF, AX
	VPBROADCASTD AX, Z30
	MOVL $0x7FFF, AX
	VPBROADCASTD AX, Z29
	VMOVDQU32 (DI), Z20           // codes of features 0–15
	VMOVDQU32 64(DI), Z21         // 16–31
	TESTQ CX, CX
	JEQ doneR

pairR:
	VMOVDQU32 (BX), Z0            // 16 trees' roots
	VMOVDQU32 64(BX), Z1          // and 16 more
	MOVQ R8, R9
	TESTQ R9, R9
	JEQ storeR

stepR:
	KXNORW K1, K1, K1
	KXNORW K2, K2, K2
	VPGATHERDD (SI)(Z0*4), K1, Z4 // nodes
	VPGATHERDD (SI)(Z1*4), K2, Z5
	VPSRLD $24, Z4, Z6            // feature
	VPSRLD $24, Z5, Z7
	VPERMI2D Z21, Z20, Z6         // its code
	VPERMI2D Z21, Z20, Z7
	VPANDD Z30, Z6, Z6
	VPANDD Z30, Z7, Z7
	VPSRLD $16, Z4, Z10           // bin
	VPSRLD $16, Z5, Z11
	VPANDD Z30, Z10, Z10
	VPANDD Z30, Z11, Z11
	VPCMPGTD Z10, Z6, K3          // code > bin
	VPCMPGTD Z11, Z7, K4
	VPSRLD $15, Z4, Z12           // left increment
	VPSRLD $15, Z5, Z13
	VPANDD Z31, Z12, Z12
	VPANDD Z31, Z13, Z13
	VPANDD Z29, Z4, Z4            // right offset
	VPANDD Z29, Z5, Z5
	VPSUBD Z12, Z4, Z4
	VPSUBD Z13, Z5, Z5
	VPADDD Z12, Z0, Z0
	VPADDD Z13, Z1, Z1
	VPADDD Z4, Z0, K3, Z0
	VPADDD Z5, Z1, K4, Z1
	DECQ R9
	JNE stepR

storeR:
	VMOVDQU32 Z0, (DX)
	VMOVDQU32 Z1, 64(DX)
	ADDQ $128, DX
	ADDQ $128, BX
	DECQ CX
	JNE pairR

doneR:
	VZEROUPPER
	RET
