#include "methods/noise/noise_init.h"

#include "methods/noise/correlated_noise.h"
#include "methods/noise/ddim_inversion.h"

namespace vdlab {

NoiseInit::~NoiseInit() = default;

NoiseRegistry& noise_registry() {
  static NoiseRegistry registry("noise init");
  return registry;
}

void register_builtin_noise() {
  static bool done = false;
  if (done) return;
  done = true;
  NoiseRegistry& r = noise_registry();
  r.add({"iid", "i.i.d. standard Gaussian noise", {}, [](const Params&) -> NoiseInitPtr {
           return std::make_shared<IidNoise>();
         }});
  r.add({"ar1", "AR(1) noise across frames: eps_f = rho eps_{f-1} + sqrt(1-rho^2) xi_f (corr rho^|f-g|)",
         {{"rho", 0.6, "correlation of consecutive frames, in [0, 1]", {}, {}}},
         [](const Params& p) -> NoiseInitPtr {
           const double rho = p.get<double>("rho");
           if (rho < 0 || rho > 1) p.fail("rho", "must lie in [0, 1], got " + std::to_string(rho));
           return std::make_shared<Ar1Noise>(rho);
         }});
  r.add({"mixed", "mixed noise: eps_f = sqrt(rho) shared + sqrt(1-rho) xi_f (corr rho between any two frames)",
         {{"rho", 0.6, "share of variance common to all frames, in [0, 1]", {}, {}}},
         [](const Params& p) -> NoiseInitPtr {
           const double rho = p.get<double>("rho");
           if (rho < 0 || rho > 1) p.fail("rho", "must lie in [0, 1], got " + std::to_string(rho));
           return std::make_shared<MixedNoise>(rho);
         }});
  r.add({"ddim-inversion",
         "DDIM inversion of each video's source clip to the sampler's first timestep (diffusers' DDIMInverseScheduler); "
         "needs a method that passes the clips (vmc)",
         {{"refine", 0, "fixed-point iterations per step towards the exact inverse of the DDIM step (0: diffusers)", {}, {}}},
         [](const Params& p) -> NoiseInitPtr {
           const int64_t refine = p.get<int64_t>("refine");
           if (refine < 0) p.fail("refine", "must not be negative");
           return std::make_shared<DdimInversionNoise>(refine);
         }});
}

}  // namespace vdlab
