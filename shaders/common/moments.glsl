// Mean and centred sum of squares of a workgroup's values (Welford per invocation, pairs merged as in Chan,
// Golub & LeVeque), so a variance far below the squared mean loses nothing to cancellation. The merge is a
// shared-memory tree, correct for any subgroup size; the workgroup size must be a power of two.
// Callers subtract a pivot (one of the values) first: the mean of the shifted values is then small enough
// for fp32 to hold it to full precision relative to the spread, which the raw mean (say 1000 +- 1) is not.

struct Moments {
  uint n;
  float mean;
  float m2;
};

Moments moments_empty() { return Moments(0u, 0.0, 0.0); }

void moments_add(inout Moments s, float v) {
  s.n += 1u;
  const float d = v - s.mean;
  s.mean += d / float(s.n);
  s.m2 += d * (v - s.mean);
}

Moments moments_merge(Moments a, Moments b) {
  if (b.n == 0u) return a;
  if (a.n == 0u) return b;
  const float n = float(a.n + b.n);
  const float d = b.mean - a.mean;
  const float fb = float(b.n) / n;
  return Moments(a.n + b.n, a.mean + d * fb, a.m2 + b.m2 + d * d * float(a.n) * fb);
}

shared uint moments_n[gl_WorkGroupSize.x];
shared float moments_mean[gl_WorkGroupSize.x];
shared float moments_m2[gl_WorkGroupSize.x];

// Every invocation of the workgroup must call this, once per shader run; every one gets the workgroup's total.
Moments moments_reduce(Moments s) {
  const uint t = gl_LocalInvocationID.x;
  moments_n[t] = s.n;
  moments_mean[t] = s.mean;
  moments_m2[t] = s.m2;
  barrier();
  for (uint half_ = gl_WorkGroupSize.x / 2u; half_ > 0u; half_ /= 2u) {
    if (t < half_) {
      const Moments m = moments_merge(Moments(moments_n[t], moments_mean[t], moments_m2[t]),
                                      Moments(moments_n[t + half_], moments_mean[t + half_], moments_m2[t + half_]));
      moments_n[t] = m.n;
      moments_mean[t] = m.mean;
      moments_m2[t] = m.m2;
    }
    barrier();
  }
  return Moments(moments_n[0], moments_mean[0], moments_m2[0]);
}
