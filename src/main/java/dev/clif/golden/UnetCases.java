package dev.clif.golden;

import dev.clif.model.Autograd;
import dev.clif.model.UNet;
import dev.clif.tensor.DType;
import dev.clif.tensor.Device;
import dev.clif.tensor.Tensor;
import dev.clif.tensor.TensorScope;

import java.util.ArrayList;
import java.util.List;

/**
 * The "unet_forward" and "unet_backward" cases: the UNet of the case's model folder (tiny-sd/unet) run on the
 * stored inputs. Forward: out_int / out_float / out_scalar for integer, fractional and 0-dim timesteps.
 * Backward: loss = (sample * loss_weight).sum(), back-propagated with grad_output = loss_weight into every
 * parameter named by a stored {@code grad.<name>} tensor and into latents and encoder_hidden_states.
 * Tolerances are the sidecar's (ten times looser on CUDA).
 */
public final class UnetCases implements CaseRunner {
    private static final String GRAD = "grad.";

    @Override
    public List<String> cases() {
        return List.of("unet_forward", "unet_backward");
    }

    @Override
    public List<Comparison> run(GoldenCase c, Device device) {
        double loosen = device.isCuda() ? 10 : 1;
        try (TensorScope scope = TensorScope.open(); UNet unet = UNet.load(c.model(), device, DType.F32)) {
            return c.name().equals("unet_backward") ? backward(c, unet, device, loosen) : forward(c, unet, device, loosen);
        }
    }

    private static List<Comparison> forward(GoldenCase c, UNet unet, Device device, double loosen) {
        Tolerance tol = c.tolerance().times(loosen);
        Tensor latents = c.tensor("latents").to(device);
        Tensor ehs = c.tensor("encoder_hidden_states").to(device);
        List<Comparison> out = new ArrayList<>();
        String[][] runs = {{"out_int", "timesteps_int"}, {"out_float", "timesteps_float"}, {"out_scalar", "timestep_scalar"}};
        for (String[] r : runs) {
            if (!c.tensors().contains(r[0])) continue;
            Tensor y = unet.forward(latents, c.tensor(r[1]).to(device), ehs, false);
            out.add(Comparison.of(r[0], y, c.tensor(r[0]), tol));
        }
        return out;
    }

    private static List<Comparison> backward(GoldenCase c, UNet unet, Device device, double loosen) {
        Tolerance gradTol = c.tolerance("grads").times(loosen);
        Tensor latents = c.tensor("latents").to(device);
        Tensor ehs = c.tensor("encoder_hidden_states").to(device);
        Tensor weight = c.tensor("loss_weight").to(device);
        Autograd.setRequiresGrad(latents, true);
        Autograd.setRequiresGrad(ehs, true);
        List<String> params = new ArrayList<>();
        for (String n : c.names(GRAD)) {
            String p = n.substring(GRAD.length());
            if (p.equals("latents") || p.equals("encoder_hidden_states")) continue;
            params.add(p);
            unet.setRequiresGrad(p, true);
        }
        Tensor sample = unet.forward(latents, c.tensor("timesteps").to(device), ehs, true);

        List<Comparison> out = new ArrayList<>();
        out.add(Comparison.of("sample", sample, c.tensor("sample"), c.tolerance("sample").times(loosen)));
        // loss = (sample * W).sum(), in double on the host
        float[] s = sample.to(Device.CPU).toFloatArray();
        float[] w = c.tensors().floats("loss_weight");
        double loss = 0;
        for (int i = 0; i < s.length; i++) loss += (double) s[i] * w[i];
        out.add(Comparison.of("loss", new double[] {loss}, new double[] {c.tensors().floats("loss")[0]},
                c.tolerance("loss").times(loosen)));

        Autograd.backward(sample, weight);
        out.add(Comparison.of(GRAD + "latents", Autograd.grad(latents), c.tensor(GRAD + "latents"), gradTol));
        out.add(Comparison.of(GRAD + "encoder_hidden_states", Autograd.grad(ehs), c.tensor(GRAD + "encoder_hidden_states"), gradTol));
        for (String p : params) out.add(Comparison.of(GRAD + p, unet.gradient(p), c.tensor(GRAD + p), gradTol));
        return out;
    }
}
