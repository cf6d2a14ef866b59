use crate::{CubeBackend, kernel};
use burn_backend::ops::ActivationOps;
use burn_backend::tensor::FloatTensor;
use burn_backend::ops::FloatTensorOps;
use burn_backend::{TensorMetadata, get_or_init_device_settings};

impl ActivationOps<Self> for CubeBackend {
    // ResLab patch: on a software adapter, ReLU is one kernel each way that
    // keeps the operands' memory layout (kernel/relu.rs); otherwise Burn's
    // default bodies, copied unchanged below.
    fn relu(tensor: FloatTensor<Self>) -> FloatTensor<Self> {
        if kernel::software_kernels() {
            return kernel::relu::relu(tensor);
        }
        let bool_dtype = get_or_init_device_settings::<Self>(&tensor.device()).bool_dtype;
        let mask = Self::float_lower_equal_elem(tensor.clone(), 0f32.into(), bool_dtype);
        Self::float_mask_fill(tensor, mask, 0f32.into())
    }

    fn relu_backward(output: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        if kernel::software_kernels() {
            return kernel::relu::relu_backward(output, grad);
        }
        let bool_dtype = get_or_init_device_settings::<Self>(&output.device()).bool_dtype;
        let mask = Self::float_lower_equal_elem(output, 0f32.into(), bool_dtype);
        Self::float_mask_fill(grad, mask, 0.into())
    }
}
