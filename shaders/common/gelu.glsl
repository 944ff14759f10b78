// GELU with the exact erf, accurate to about 5e-7 relative everywhere: GLSL has no erf, and the short
// approximations (Abramowitz-Stegun 7.1.26: 1.5e-7 absolute; the tanh form: far worse) lose all relative
// accuracy on the negative tail where GELU is tiny. W. J. Cody's rational approximations (Math. Comp. 1969,
// netlib specfun CALERF) give erf near zero and erfc with full relative accuracy beyond it.

// erfc(u/sqrt(2)) for u >= 0. The Gaussian factor is formed from u itself: rounding u/sqrt(2) first would
// cost a relative error of about u^2 ulps far out on the tail.
float erfc_over_sqrt2(float u) {
  const float y = u * 0.70710678118654752;
  if (y <= 0.46875) {
    const float z = y * y;
    float num = 1.85777706184603153e-1 * z;
    float den = z;
    num = (num + 3.16112374387056560e00) * z;
    den = (den + 2.36012909523441209e01) * z;
    num = (num + 1.13864154151050156e02) * z;
    den = (den + 2.44024637934444173e02) * z;
    num = (num + 3.77485237685302021e02) * z;
    den = (den + 1.28261652607737228e03) * z;
    return 1.0 - y * (num + 3.20937758913846947e03) / (den + 2.84423683343917062e03);
  }
  if (y >= 9.194) return 0.0;  // erfc(y) underflows fp32 beyond (Cody's XBIG)
  float r;
  if (y <= 4.0) {
    float num = 2.15311535474403846e-8 * y;
    float den = y;
    num = (num + 5.64188496988670089e-1) * y;
    den = (den + 1.57449261107098347e01) * y;
    num = (num + 8.88314979438837594e00) * y;
    den = (den + 1.17693950891312499e02) * y;
    num = (num + 6.61191906371416295e01) * y;
    den = (den + 5.37181101862009858e02) * y;
    num = (num + 2.98635138197400131e02) * y;
    den = (den + 1.62138957456669019e03) * y;
    num = (num + 8.81952221241769090e02) * y;
    den = (den + 3.29079923573345963e03) * y;
    num = (num + 1.71204761263407058e03) * y;
    den = (den + 4.36261909014324716e03) * y;
    num = (num + 2.05107837782607147e03) * y;
    den = (den + 3.43936767414372164e03) * y;
    r = (num + 1.23033935479799725e03) / (den + 1.23033935480374942e03);
  } else {
    const float z = 1.0 / (y * y);
    float num = 1.63153871373020978e-2 * z;
    float den = z;
    num = (num + 3.05326634961232344e-1) * z;
    den = (den + 2.56852019228982242e00) * z;
    num = (num + 3.60344899949804439e-1) * z;
    den = (den + 1.87295284992346047e00) * z;
    num = (num + 1.25781726111229246e-1) * z;
    den = (den + 5.27905102951428412e-1) * z;
    num = (num + 1.60837851487422766e-2) * z;
    den = (den + 6.05183413124413191e-2) * z;
    r = z * (num + 6.58749161529837803e-4) / (den + 2.33520497626869185e-3);
    r = (5.6418958354775628695e-1 - r) / y;
  }
  // exp(-u^2/2) as exp(-s^2/2)*exp(-(u-s)(u+s)/2) with s = u rounded down to 1/16: s^2/2 is exact, so the
  // rounding of u^2 (its relative error times u^2/2 ~ 85) never reaches the exponent.
  const float s = floor(u * 16.0) / 16.0;
  return exp(-0.5 * s * s) * exp(-0.5 * (u - s) * (u + s)) * r;
}

// x*Phi(x), Phi the standard normal CDF: Phi = erfc(-x/sqrt(2))/2, taken from erfc's accurate side for each sign.
float gelu_erf(float x) {
  const float c = erfc_over_sqrt2(abs(x));
  return x * (x < 0.0 ? 0.5 * c : 1.0 - 0.5 * c);
}
