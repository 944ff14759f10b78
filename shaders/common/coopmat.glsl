// Shared by the cooperative-matrix kernels: the accumulator type by variant (fp32 unless the variant says
// acc16, for devices whose only fp16 shapes accumulate in fp16).
#if defined(VARIANT_ACC16)
#define ACC_T float16_t
#else
#define ACC_T float
#endif
