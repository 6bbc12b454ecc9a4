//! Arrays in: any 2-D float32 or float64 array, read where it lies.
//!
//! A numpy array (a memmap included) is read in place; anything else goes through
//! `numpy.asarray`, which shares memory with objects that expose it (a CPU torch tensor through
//! `__array__`, anything with the buffer protocol) and copies only what has no array memory (a
//! list). The one copy the measures make is the one `pipeline metric` makes of a file: the rows
//! as f64, which the scoring then prepares (clamp, normalise) in place.

use measures::error::Error;
use ndarray::{Array2, ArrayView2};
use numpy::{PyArray2, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// The measures' errors as Python's `ValueError`, with their message.
pub fn value_error(e: Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// `obj` as a numpy array without copying its memory where it has some.
fn as_numpy<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Bound<'py, PyUntypedArray>> {
    if let Ok(array) = obj.cast::<PyUntypedArray>() {
        return Ok(array.clone());
    }
    let kind = obj.get_type().qualname()?;
    let converted = obj
        .py()
        .import("numpy")?
        .call_method1("asarray", (obj,))
        .map_err(|e| {
            PyTypeError::new_err(format!(
                "{name}: expected a 2-D float32 or float64 array (numpy, or anything \
                 numpy.asarray reads without a copy, such as a CPU torch tensor), got {kind}: {e}"
            ))
        })?;
    converted
        .cast_into::<PyUntypedArray>()
        .map_err(|_| PyTypeError::new_err(format!("{name}: numpy.asarray did not return an array")))
}

/// The element type of an accepted array.
enum Float<'py> {
    F32(Bound<'py, PyArray2<f32>>),
    F64(Bound<'py, PyArray2<f64>>),
}

/// `obj` checked: two dimensions, float32 or float64. `name` labels it in errors.
fn float_array<'py>(obj: &Bound<'py, PyAny>, name: &str) -> PyResult<Float<'py>> {
    let array = as_numpy(obj, name)?;
    if array.ndim() != 2 {
        return Err(PyValueError::new_err(format!(
            "{name}: expected a 2-D array (rows x features), got {} dimension(s) of shape {:?}",
            array.ndim(),
            array.shape()
        )));
    }
    let dtype = array.dtype();
    let py = obj.py();
    if dtype.is_equiv_to(&numpy::dtype::<f32>(py)) {
        Ok(Float::F32(array.cast_into::<PyArray2<f32>>()?))
    } else if dtype.is_equiv_to(&numpy::dtype::<f64>(py)) {
        Ok(Float::F64(array.cast_into::<PyArray2<f64>>()?))
    } else {
        Err(PyTypeError::new_err(format!(
            "{name}: expected a float32 or float64 array, got dtype {}",
            dtype.str()?
        )))
    }
}

fn widened<T: Copy + Into<f64>>(view: ArrayView2<T>) -> Array2<f64> {
    // Row-major whatever the input's strides, as `pipeline metric` reads an .npy file.
    let (rows, cols) = view.dim();
    let mut out = Vec::with_capacity(rows * cols);
    for row in view.outer_iter() {
        out.extend(row.iter().map(|&v| v.into()));
    }
    Array2::from_shape_vec((rows, cols), out).expect("rows x cols values")
}

/// The rows of `obj` as f64, read from its own memory.
pub fn rows(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Array2<f64>> {
    Ok(match float_array(obj, name)? {
        Float::F32(a) => widened(a.readonly().as_array()),
        Float::F64(a) => widened(a.readonly().as_array()),
    })
}

/// The address of the memory [`rows`] reads `obj` from (what the tests compare with the
/// caller's buffer to show that no copy was made on the way in).
pub fn address(obj: &Bound<'_, PyAny>) -> PyResult<usize> {
    Ok(match float_array(obj, "array")? {
        Float::F32(a) => a.readonly().as_array().as_ptr() as usize,
        Float::F64(a) => a.readonly().as_array().as_ptr() as usize,
    })
}

/// Every array of a list (or of a 3-D array's first axis), for a model's layers.
pub fn layers(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Vec<Array2<f64>>> {
    let items: Vec<Bound<'_, PyAny>> = obj.try_iter()?.collect::<PyResult<_>>()?;
    if items.is_empty() {
        return Err(PyValueError::new_err(format!(
            "{name}: expected at least one layer's 2-D array"
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, layer)| rows(layer, &format!("{name}[{i}]")))
        .collect()
}
